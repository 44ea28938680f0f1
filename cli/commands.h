// Each hooksim subcommand registers itself on the app and returns the function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string_view>

#include "engine/status.h"

namespace hooksim::net {
struct CurlOptions;  // net/curl_transport.h
}

namespace hooksim::cli {

// Runs a parsed subcommand; returns the process exit code (0 ok, 1 runtime failure, 2 bad usage/input).
using Command = std::function<int()>;

Command add_simulate(CLI::App& app);
Command add_receiver(CLI::App& app);
Command add_run(CLI::App& app);
Command add_serve(CLI::App& app);
Command add_status(CLI::App& app);
Command add_check(CLI::App& app);
Command add_report(CLI::App& app);
Command add_replay(CLI::App& app);
Command add_init(CLI::App& app);
Command add_schedule(CLI::App& app);
Command add_secret(CLI::App& app);
Command add_bench(CLI::App& app);
Command add_compare(CLI::App& app);

// Prints "hooksim <command>: <message>" on stderr; returns `exit_code`, by default 2 (bad usage or input).
inline int fail(std::string_view command, std::string_view message, int exit_code = 2) {
  std::cerr << "hooksim " << command << ": " << message << "\n";
  return exit_code;
}
// fail() with `st`'s message: exit code 2 when it is InvalidArgument (bad usage or input), else 1.
inline int fail(std::string_view command, const Status& st) {
  return fail(command, st.message(), st.code() == Status::Code::kInvalidArgument ? 2 : 1);
}

// Closes `out`, when it is open, and removes the file at `path`: no half-written output is left behind.
inline void discard(std::ofstream& out, const std::string& path) {
  if (!out.is_open()) return;
  out.close();
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
}

// The TLS flags of every command that sends to receivers, into `curl`: --ca-file PEM and --insecure.
void add_tls_flags(CLI::App* cmd, net::CurlOptions& curl);
// --scheme NAME, into `scheme`: the signing scheme of --secret, one of protocol::signature_schemes() (another
// name is a usage error). `what` starts the help: "Sign deliveries", "Verify signatures".
void add_scheme_flag(CLI::App* cmd, std::string& scheme, const std::string& what);
// The connection flags of the commands that deliver (run, serve), into `curl`: --max-host-connections N and
// --refuse-private-addresses, whose help ends with `literal_ip`: what becomes of a url with such a literal
// IP.
void add_connection_flags(CLI::App* cmd, net::CurlOptions& curl, const std::string& literal_ip);

}  // namespace hooksim::cli
