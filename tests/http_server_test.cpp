// The HTTP server skeleton (net/http_server.h): its host:port parser, and the plumbing both servers rely on,
// over real sockets on 127.0.0.1 with a blocking Beast client. Nothing waits on the clock: each step waits
// for the server to have reached a state (a promise) or for the client's read to return.
#include "net/http_server.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <optional>
#include <thread>

namespace hooksim::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Waits for `f`: the wait is a safety net against a hang, not a timing assertion.
template <typename T>
bool ready(const std::future<T>& f) {
  return f.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
}

std::string parse_error(std::string_view text) {
  auto r = parse_host_port(text);
  return r.ok() ? "(accepted)" : r.status().message();
}

TEST(HostPort, AcceptsAPortAHostAndPortAndABracketedIpv6) {
  auto p = parse_host_port("8080");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->host, "127.0.0.1");
  EXPECT_EQ(p->port, 8080);
  p = parse_host_port("0.0.0.0:0");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->host, "0.0.0.0");
  EXPECT_EQ(p->port, 0);
  p = parse_host_port("localhost:65535");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->host, "localhost");  // a name: resolved by listen(), not here
  EXPECT_EQ(p->port, 65535);
  p = parse_host_port("[::1]:443");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->host, "::1");
  EXPECT_EQ(p->port, 443);
}

TEST(HostPort, RefusesAnythingElseQuotingTheAddress) {
  EXPECT_EQ(parse_error(""), "listen address '': expected HOST:PORT");
  EXPECT_EQ(parse_error("localhost"), "listen address 'localhost': expected HOST:PORT");
  EXPECT_EQ(parse_error(":80"), "listen address ':80': expected HOST:PORT");
  EXPECT_EQ(parse_error("[::1]"), "listen address '[::1]': expected [IPv6]:PORT");
  EXPECT_EQ(parse_error("[::1]80"), "listen address '[::1]80': expected [IPv6]:PORT");
  EXPECT_EQ(parse_error("[]:0"), "listen address '[]:0': expected [IPv6]:PORT");  // no host
  for (const char* bad : {"host:", "host:65536", "host:-1", "host:8x", "host: 80", "99999"})
    EXPECT_EQ(parse_error(bad),
              fmt::format("listen address '{}': port must be a number from 0 to 65535", bad));
}

TEST(HttpServer, ListenRefusesABadAddressAndReportsTheBoundUrl) {
  asio::io_context io;
  HttpServer bad(
      io, HttpServerOptions{}, [](HttpRequest&&, const Respond& r) { r({}); }, HttpResponse{});
  Status st = bad.listen("nowhere");
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "listen address 'nowhere': expected HOST:PORT");
  HttpServer good(
      io, HttpServerOptions{}, [](HttpRequest&&, const Respond& r) { r({}); }, HttpResponse{});
  ASSERT_TRUE(good.listen("0").ok());  // just a port: 127.0.0.1
  EXPECT_NE(good.port(), 0);
  EXPECT_EQ(good.url(), "http://127.0.0.1:" + std::to_string(good.port()));
}

// A blocking HTTP/1.1 client on one connection.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  void send(const std::string& raw) { asio::write(socket_, asio::buffer(raw)); }
  void get(const std::string& target) { send("GET " + target + " HTTP/1.1\r\nhost: x\r\n\r\n"); }

  // The next response, or nullopt when the server closed the connection first.
  std::optional<http::response<http::string_body>> read() {
    http::response<http::string_body> r;
    beast::error_code ec;
    http::read(socket_, buffer_, r, ec);
    if (ec) return std::nullopt;
    return r;
  }
  // Bytes received and not read yet.
  size_t available() { return socket_.available(); }
  // Reads the raw bytes up to the end of the next header block.
  std::string read_header_block() {
    beast::error_code ec;
    size_t n = asio::read_until(socket_, asio::dynamic_buffer(raw_), "\r\n\r\n", ec);
    std::string head = raw_.substr(0, n);
    raw_.erase(0, n);
    return head;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::string raw_;
};

// A server run by its own io_context thread.
class Running {
 public:
  template <typename... Args>
  explicit Running(Args&&... args) : server_(io_, std::forward<Args>(args)...) {
    Status st = server_.listen("127.0.0.1:0");
    EXPECT_TRUE(st.ok()) << st.message();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Running() {
    asio::post(io_, [this] { server_.stop(); });
    thread_.join();
  }
  uint16_t port() const { return server_.port(); }
  // Runs `f` on the io_context's thread.
  template <typename F>
  void on_io(F f) {
    asio::post(io_, std::move(f));
  }
  HttpServer& server() { return server_; }

 private:
  asio::io_context io_;
  HttpServer server_;
  std::thread thread_;
};

HttpServerOptions one_thread() {
  HttpServerOptions o;
  o.single_thread = true;
  o.server_header = "hooksim";
  o.body_limit = 16;
  return o;
}

TEST(HttpServer, StopClosesIdleConnectionsAndLetsARequestInProgressFinish) {
  std::promise<Respond> later;
  Running rx(
      one_thread(),
      [&](HttpRequest&& req, Respond respond) {
        if (req.target == "/later") return later.set_value(std::move(respond));
        respond({200, "text/plain", "now", {}});
      },
      HttpResponse{});
  Client idle(rx.port()), busy(rx.port());
  idle.get("/now");
  auto first = idle.read();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->body(), "now");
  EXPECT_EQ((*first)[http::field::server], "hooksim");
  EXPECT_TRUE(first->keep_alive());
  busy.get("/later");
  auto in_progress = later.get_future();
  ASSERT_TRUE(ready(in_progress));
  Respond respond = in_progress.get();
  rx.on_io([&rx, respond] {
    rx.server().stop();  // on the io thread: done before it returns
    respond({202, "application/json", "{}", {}});
  });
  EXPECT_FALSE(idle.read().has_value());  // closed without an answer
  auto answer = busy.read();
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->result_int(), 202);
  EXPECT_FALSE(answer->keep_alive());  // the server is stopping
  EXPECT_FALSE(busy.read().has_value());
}

TEST(HttpServer, ABodyOverTheLimitIsAnsweredAndTheConnectionClosed) {
  Running rx(
      one_thread(), [](HttpRequest&&, const Respond& r) { r({}); },
      HttpResponse{413, "application/json", R"({"error":"too_large"})", {}});
  Client client(rx.port());
  client.send("POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 17\r\n\r\n");
  auto r = client.read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->result_int(), 413);
  EXPECT_EQ(r->body(), R"({"error":"too_large"})");
  EXPECT_FALSE(r->keep_alive());
  EXPECT_FALSE(client.read().has_value());
}

TEST(HttpServer, AnExpectedContinueIsGrantedBeforeTheBodyIsRead) {
  std::promise<std::string> body;
  Running rx(
      one_thread(),
      [&](HttpRequest&& req, const Respond& r) {
        body.set_value(req.body);
        r({204, "application/json", "", {}});
      },
      HttpResponse{});
  Client client(rx.port());
  client.send("POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client.read_header_block(), "HTTP/1.1 100 Continue\r\n\r\n");
  client.send("hello");
  auto got = body.get_future();
  ASSERT_TRUE(ready(got));
  EXPECT_EQ(got.get(), "hello");
  auto r = client.read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->result_int(), 204);
}

// The header block a server (with or without HttpServerOptions::echo_version) answers an HTTP/1.0 request
// with.
std::string answer_to_http10(bool echo_version) {
  HttpServerOptions o = one_thread();
  o.echo_version = echo_version;
  Running rx(
      o,
      [](HttpRequest&&, const Respond& r) {
        r({200, "text/plain", "ok", {}});
      },
      HttpResponse{});
  Client client(rx.port());
  client.send("GET / HTTP/1.0\r\nhost: x\r\n\r\n");
  return client.read_header_block();
}

TEST(HttpServer, AnHttp10RequestIsAnsweredInHttp11WithConnectionClose) {
  std::string head = answer_to_http10(false);
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_NE(head.find("\r\nConnection: close\r\n"), std::string::npos) << head;
}

TEST(HttpServer, EchoVersionAnswersAnHttp10RequestInHttp10) {
  std::string head = answer_to_http10(true);
  EXPECT_TRUE(head.starts_with("HTTP/1.0 200 OK\r\n")) << head;
  EXPECT_EQ(head.find("Connection"), std::string::npos) << head;  // closing is HTTP/1.0's default
}

TEST(HttpServer, AHandlerMayRespondFromAnotherThreadAndTheAnswerIsWrittenOnTheServers) {
  std::promise<Respond> later;
  Running rx(
      one_thread(), [&](HttpRequest&&, Respond respond) { later.set_value(std::move(respond)); },
      HttpResponse{});
  Client client(rx.port());
  client.get("/");
  auto got = later.get_future();
  ASSERT_TRUE(ready(got));
  Respond respond = got.get();
  std::promise<void> blocked, release;
  rx.on_io([&] {
    blocked.set_value();
    release.get_future().wait();
  });
  ASSERT_TRUE(ready(blocked.get_future()));
  respond({201, "text/plain", "later", {}});  // from this thread, while the server's is busy
  EXPECT_EQ(client.available(), 0u);          // nothing written from here
  release.set_value();
  auto r = client.read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->result_int(), 201);
  EXPECT_EQ(r->body(), "later");
}

// A session that never answers (and, with `respond_anyway`, calls respond() after hang(), which must be
// ignored) and reports when its request is abandoned.
class Hanging final : public HttpSession {
 public:
  Hanging(std::promise<void>& read, std::promise<void>& abandoned, bool respond_anyway = false)
      : read_(read), abandoned_(abandoned), respond_anyway_(respond_anyway) {}
  void on_request(std::shared_ptr<HttpExchange> x) override {
    x->hang();
    if (respond_anyway_) x->respond({});
    read_.set_value();
  }
  void on_too_large(std::shared_ptr<HttpExchange> x) override { x->drop(); }
  void on_abandoned() override { abandoned_.set_value(); }

 private:
  std::promise<void>& read_;
  std::promise<void>& abandoned_;
  bool respond_anyway_;
};

TEST(HttpServer, StopClosesAHangingRequestEvenWhenItDoesNotAbandonRequestsInProgress) {
  std::promise<void> read, abandoned;
  Running rx(HttpServerOptions{}, [&] { return std::make_unique<Hanging>(read, abandoned); });
  Client client(rx.port());
  client.get("/");
  ASSERT_TRUE(ready(read.get_future()));
  rx.server().stop();
  ASSERT_TRUE(ready(abandoned.get_future()));
  EXPECT_FALSE(client.read().has_value());
}

TEST(HttpServer, ARespondAfterHangIsIgnored) {
  std::promise<void> read, abandoned;
  Running rx(HttpServerOptions{}, [&] { return std::make_unique<Hanging>(read, abandoned, true); });
  Client client(rx.port());
  client.get("/");
  ASSERT_TRUE(ready(read.get_future()));
  rx.server().stop();
  ASSERT_TRUE(ready(abandoned.get_future()));
  EXPECT_FALSE(client.read().has_value());  // no answer, only the close
}

// A session that drops the connection, then asks for a callback without delay.
class DropThenAfter final : public HttpSession {
 public:
  DropThenAfter(std::promise<bool>& ran) : ran_(ran) {}
  void on_request(std::shared_ptr<HttpExchange> x) override {
    bool ran = false;
    x->drop();
    x->after(Duration(0), [&ran](HttpExchange&) { ran = true; });
    ran_.set_value(ran);
  }
  void on_too_large(std::shared_ptr<HttpExchange> x) override { x->drop(); }

 private:
  std::promise<bool>& ran_;
};

TEST(HttpServer, AfterDoesNotRunOnAClosedConnectionEvenWithoutDelay) {
  std::promise<bool> ran;
  Running rx(one_thread(), [&] { return std::make_unique<DropThenAfter>(ran); });
  Client client(rx.port());
  client.get("/");
  auto got = ran.get_future();
  ASSERT_TRUE(ready(got));
  EXPECT_FALSE(got.get());
  EXPECT_FALSE(client.read().has_value());
}

TEST(HttpServer, StopThatAbandonsClosesAHangingRequestAndSaysSo) {
  std::promise<void> read, abandoned;
  HttpServerOptions o;  // strands, any number of threads
  o.stop_abandons = true;
  Running rx(o, [&] { return std::make_unique<Hanging>(read, abandoned); });
  Client client(rx.port());
  client.get("/");
  ASSERT_TRUE(ready(read.get_future()));
  rx.server().stop();  // from another thread: posted
  EXPECT_TRUE(ready(abandoned.get_future()));
  EXPECT_FALSE(client.read().has_value());
}

TEST(HttpServer, AHangingRequestIsAbandonedWhenTheClientCloses) {
  std::promise<void> read, abandoned;
  HttpServerOptions o;
  o.stop_abandons = true;  // so that a failure cannot leave the server waiting for the client
  Running rx(o, [&] { return std::make_unique<Hanging>(read, abandoned); });
  {
    Client client(rx.port());
    client.get("/");
    ASSERT_TRUE(ready(read.get_future()));
  }  // the client closes
  EXPECT_TRUE(ready(abandoned.get_future()));
}

}  // namespace
}  // namespace hooksim::net
