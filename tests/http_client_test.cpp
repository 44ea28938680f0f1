// net::HttpClient, the blocking client of `hooksim check`, `hooksim status` and the load generator, against
// a canned server on 127.0.0.1: the sender's transfer rules (no redirects, the body cap, no expect) and
// keep-alive.
#include "net/http_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hooksim::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Answers every request with the same bytes, on connections it keeps open; remembers each request
// (head and body) and counts the connections it accepted.
class CannedServer {
 public:
  explicit CannedServer(std::string response)
      : response_(std::move(response)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~CannedServer() {
    io_.stop();
    thread_.join();
  }

  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }
  int connections() {
    std::lock_guard lock(mu_);
    return connections_;
  }
  // Waits until `n` connections have been accepted; false if they are not within 10 s.
  bool wait_for_connections(int n) {
    std::unique_lock lock(mu_);
    return accepted_.wait_for(lock, std::chrono::seconds(10), [&] { return connections_ >= n; });
  }
  // (head, body) of every request so far.
  std::vector<std::pair<std::string, std::string>> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  struct Connection {
    explicit Connection(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    std::string in;
  };

  void accept() {
    auto c = std::make_shared<Connection>(io_);
    acceptor_.async_accept(c->socket, [this, c](boost::system::error_code ec) {
      if (ec) return;
      {
        std::lock_guard lock(mu_);
        ++connections_;
      }
      accepted_.notify_all();
      serve(c);
      accept();
    });
  }

  void serve(std::shared_ptr<Connection> c) {
    asio::async_read_until(c->socket, asio::dynamic_buffer(c->in), "\r\n\r\n",
                           [this, c](boost::system::error_code ec, size_t head_size) {
                             if (ec) return;
                             std::string head = c->in.substr(0, head_size);
                             c->in.erase(0, head_size);
                             size_t length = content_length(head);
                             size_t missing = length > c->in.size() ? length - c->in.size() : 0;
                             asio::async_read(
                                 c->socket, asio::dynamic_buffer(c->in), asio::transfer_exactly(missing),
                                 [this, c, head, length](boost::system::error_code ec, size_t) {
                                   if (ec) return;
                                   {
                                     std::lock_guard lock(mu_);
                                     requests_.emplace_back(head, c->in.substr(0, length));
                                   }
                                   c->in.erase(0, length);
                                   asio::async_write(c->socket, asio::buffer(response_),
                                                     [this, c](boost::system::error_code ec, size_t) {
                                                       if (!ec) serve(c);
                                                     });
                                 });
                           });
  }

  static size_t content_length(std::string head) {
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char ch) { return std::tolower(ch); });
    size_t at = head.find("\r\ncontent-length:");
    return at == std::string::npos ? 0 : std::stoul(head.substr(at + 17));
  }

  std::string response_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable accepted_;
  int connections_ = 0;
  std::vector<std::pair<std::string, std::string>> requests_;
};

std::string ok_with(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(HttpClient, GetKeepsTheBodySendsTheGivenHeadersAndReusesTheConnection) {
  CannedServer server(ok_with("hello"));
  HttpClient client({.keep_body = true});
  for (int i = 0; i < 3; ++i) {
    HttpAnswer a = client.get(server.url("/v1/subscriptions"), {"Accept: application/json"});
    ASSERT_TRUE(a.answered()) << a.describe();
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, "hello");
    EXPECT_EQ(a.describe(), "200");
  }
  EXPECT_EQ(server.connections(), 1);  // kept alive
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].first.rfind("GET /v1/subscriptions HTTP/1.1\r\n", 0), 0u) << requests[0].first;
  EXPECT_NE(requests[0].first.find("\r\nAccept: application/json\r\n"), std::string::npos)
      << requests[0].first;
}

TEST(HttpClient, PostSendsTheBodyWithoutWaitingForAContinue) {
  CannedServer server(ok_with(""));
  HttpClient client;
  std::string body(2 * 1024 * 1024, 'x');  // past libcurl's threshold for "expect: 100-continue"
  HttpAnswer a = client.post(server.url(), body, {"content-type: application/json"});
  ASSERT_TRUE(a.is_2xx()) << a.describe();
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].first.rfind("POST / HTTP/1.1\r\n", 0), 0u);
  EXPECT_EQ(requests[0].first.find("Expect"), std::string::npos) << requests[0].first;
  EXPECT_EQ(requests[0].second, body);
}

TEST(HttpClient, ABodyPastTheCapStopsReadingButTheStatusCounts) {
  CannedServer server(ok_with(std::string(200 * 1024, 'b')));
  HttpClient client({.max_response_body = 1024, .keep_body = true});
  HttpAnswer a = client.get(server.url());
  EXPECT_TRUE(a.answered()) << a.describe();
  EXPECT_EQ(a.status, 200);
  EXPECT_LE(a.body.size(), 1024u);
  HttpClient discarding;  // the default: discarded after 64 KiB
  HttpAnswer d = discarding.get(server.url());
  EXPECT_TRUE(d.is_2xx()) << d.describe();
  EXPECT_EQ(d.body, "");
}

TEST(HttpClient, ARedirectIsAnAnswerAndIsNotFollowed) {
  CannedServer target(ok_with(""));
  CannedServer server("HTTP/1.1 302 Found\r\nLocation: " + target.url() + "\r\nContent-Length: 0\r\n\r\n");
  HttpClient client;
  HttpAnswer a = client.get(server.url());
  EXPECT_TRUE(a.answered()) << a.describe();
  EXPECT_EQ(a.status, 302);
  EXPECT_FALSE(a.is_2xx());
  EXPECT_EQ(target.connections(), 0);
}

TEST(HttpClient, ABrokenChunkedBodyIsAProtocolFailureAsForTheSender) {
  CannedServer server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n");
  HttpClient client;
  HttpAnswer a = client.get(server.url());
  EXPECT_FALSE(a.answered());
  EXPECT_EQ(a.error, ErrorClass::kProtocol) << a.describe();
}

TEST(HttpClient, NothingListeningIsAConnectFailureWithCurlsReason) {
  uint16_t port;
  {
    asio::io_context io;
    tcp::acceptor closed(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = closed.local_endpoint().port();
  }
  HttpClient client;
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  HttpAnswer a = client.get(url);
  EXPECT_FALSE(a.answered());
  EXPECT_EQ(a.status, 0);
  EXPECT_EQ(a.error, ErrorClass::kConnect);
  EXPECT_FALSE(a.error_text.empty());
  EXPECT_EQ(a.describe().rfind("connect: ", 0), 0u) << a.describe();
  EXPECT_EQ(client.reach(url).error, ErrorClass::kConnect);
}

TEST(HttpClient, OnlyHttpAndHttpsAreSpoken) {
  HttpClient client;
  HttpAnswer a = client.get("ftp://127.0.0.1:1/");
  EXPECT_FALSE(a.answered());
  EXPECT_EQ(a.error, ErrorClass::kOther);
}

TEST(HttpClient, ReachOpensAConnectionAndSendsNoRequest) {
  CannedServer server(ok_with(""));
  HttpClient client;
  HttpAnswer a = client.reach(server.url());
  EXPECT_EQ(a.error, ErrorClass::kNone) << a.describe();
  EXPECT_TRUE(server.wait_for_connections(1));
  EXPECT_TRUE(server.requests().empty());
}

}  // namespace
}  // namespace hooksim::net
