#include "net/curl_transport.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/address_policy.h"
#include "net/curl_easy.h"
#include "protocol/delivery.h"
#include "protocol/retry_after.h"

namespace hooksim::net {

namespace asio = boost::asio;

// One attempt: waiting for a connection slot of its host, or in curl (`easy` set).
struct CurlTransport::Transfer {
  CurlTransport* owner = nullptr;
  AttemptHandle handle = 0;
  CURL* easy = nullptr;
  // The header lines, NUL-separated, and curl's list over them: built without an allocation per line
  // (curl_slist_append's), since curl only reads the list.
  std::string header_text;
  std::vector<curl_slist> headers;
  std::string host;  // the URL's authority: the unit of max_host_connections
  // The request, copied: it may start after send() returned. The body is shared with the engine (and
  // with other attempts of the same event) when it comes owned; curl reads it in place (CURLOPT_POSTFIELDS
  // does not copy).
  std::string url, event_id, subscription, token;
  std::string signer_key;  // "<scheme>\0<secret>" (policy.signature, endpoint.secret); empty: no secret
  std::shared_ptr<const std::string> body;
  uint64_t seq = 0;
  uint32_t attempt = 0;
  TimePoint virtual_time{};
  Duration timeout{};
  Done done;
  TimePoint started;
  size_t received = 0;
  bool capped = false;           // the response body passed max_response_body and reading stopped
  bool refused_address = false;  // open_socket refused a private address (refuse_private_addresses)
  char error[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
  }
};

// A socket curl asked us to open, or (`foreign`) a duplicate we own of a descriptor curl opened itself, e.g.
// the threaded resolver's socket pair; and what curl wants to wait for on it.
struct CurlTransport::Socket {
  explicit Socket(asio::io_context& io) : descriptor(io) {}
  void close() {
    boost::system::error_code ignored;
    descriptor.close(ignored);  // pending waits complete with operation_aborted
  }

  asio::posix::stream_descriptor descriptor;
  bool foreign = false;
  int fd = -1;     // curl's descriptor (for a foreign one, not our duplicate)
  int wanted = 0;  // CURL_POLL_IN / OUT / INOUT, or 0
  bool reading = false;
  bool writing = false;
};

// libcurl's callbacks, with the exact signatures libcurl calls them with.
struct CurlTransport::Callbacks {
  static size_t on_body(char*, size_t size, size_t n, void* transfer) {
    auto* t = static_cast<Transfer*>(transfer);
    t->received += size * n;
    if (t->received > t->owner->options_.max_response_body) {
      t->capped = true;
      return 0;  // stop reading: curl ends the transfer with CURLE_WRITE_ERROR
    }
    return size * n;
  }

  static curl_socket_t open_socket(void* transfer, curlsocktype purpose, curl_sockaddr* address) {
    auto* t = static_cast<Transfer*>(transfer);
    CurlTransport* self = t->owner;
    if (purpose != CURLSOCKTYPE_IPCXN || (address->family != AF_INET && address->family != AF_INET6))
      return CURL_SOCKET_BAD;
    // The address curl is about to connect to, after resolution: a name that resolves (or is re-bound) to a
    // private address is caught here, not only a literal one in the URL.
    if (self->options_.refuse_private_addresses && is_private_address(&address->addr)) {
      t->refused_address = true;
      return CURL_SOCKET_BAD;  // curl tries the next address, if any, or fails with CURLE_COULDNT_CONNECT
    }
    int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd < 0 || !self->adopt(fd, fd)) return CURL_SOCKET_BAD;
    return fd;
  }

  static int close_socket(void* self_ptr, curl_socket_t fd) {
    auto* self = static_cast<CurlTransport*>(self_ptr);
    auto it = self->sockets_.find(fd);
    if (it == self->sockets_.end()) return 0;
    it->second->close();
    it->second->wanted = 0;
    self->sockets_.erase(it);
    return 0;
  }

  static int on_socket(CURL*, curl_socket_t fd, int what, void* self_ptr, void*) {
    auto* self = static_cast<CurlTransport*>(self_ptr);
    auto it = self->sockets_.find(fd);
    if (it == self->sockets_.end()) {
      // Not opened through open_socket: curl's own, e.g. the threaded resolver's socket pair, which becomes
      // readable when the resolution is done. Watch a duplicate (curl keeps, and closes, its descriptor).
      if (what == CURL_POLL_REMOVE) return 0;
      int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (dup < 0 || !self->adopt(fd, dup)) return 0;  // curl still polls it on its timer
      it = self->sockets_.find(fd);
    }
    it->second->wanted = what == CURL_POLL_REMOVE ? 0 : what;
    if (what == CURL_POLL_REMOVE && it->second->foreign) {
      it->second->close();  // our duplicate; curl closes its own
      self->sockets_.erase(it);
      return 0;
    }
    self->watch(it->second);
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* self_ptr) {
    auto* self = static_cast<CurlTransport*>(self_ptr);
    if (timeout_ms < 0) {
      self->timer_armed_ = false;
      self->timer_.cancel();
      return 0;
    }
    self->timer_due_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    if (!self->timer_armed_ || self->timer_.expiry() > self->timer_due_) self->arm_timer(self->timer_due_);
    return 0;
  }
};

CurlTransport::CurlTransport(asio::io_context& io, const Scheduler& clock, CurlOptions options)
    : io_(io), clock_(clock), options_(std::move(options)), timer_(io) {
  curl_init_once();
  multi_ = static_cast<Curl_multi*>(curl_multi_init());
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Callbacks::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Callbacks::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options_.max_host_connections);
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, std::max(16L, 4 * options_.max_host_connections));
}

CurlTransport::~CurlTransport() {
  for (auto& [handle, t] : transfers_)
    if (t->easy) curl_multi_remove_handle(multi_, t->easy);
  transfers_.clear();
  for (void* e : idle_easy_) curl_easy_cleanup(static_cast<CURL*>(e));
  curl_multi_cleanup(multi_);  // closes cached connections through close_socket
  timer_.cancel();
  for (auto& [fd, s] : sockets_) s->close();
}

namespace {
// "host:port" of an http(s) URL (userinfo dropped): what a connection is opened to.
std::string authority(std::string_view url) {
  auto start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  auto end = url.find_first_of("/?#", start);
  std::string_view a = url.substr(start, end == std::string_view::npos ? url.npos : end - start);
  if (auto at = a.rfind('@'); at != std::string_view::npos) a.remove_prefix(at + 1);
  return std::string(a);
}
}  // namespace

AttemptHandle CurlTransport::send(const DeliveryRequest& request, Done done) {
  AttemptHandle handle = next_handle_++;
  Transfer* t = transfers_.emplace(handle, std::make_unique<Transfer>()).first->second.get();
  t->owner = this;
  t->handle = handle;
  t->done = std::move(done);
  t->started = clock_.now();
  const SubscriptionConfig& sub = *request.subscription;
  t->url = sub.endpoint.url;
  t->host = authority(t->url);
  t->body = request.body_owner ? request.body_owner : std::make_shared<const std::string>(request.body);
  t->event_id = std::string(request.event_id);
  t->subscription = sub.id;
  if (!sub.endpoint.secret.empty()) {
    t->signer_key.reserve(sub.policy.signature.size() + 1 + sub.endpoint.secret.size());
    t->signer_key.append(sub.policy.signature).append(1, '\0').append(sub.endpoint.secret);
  }
  t->token = sub.endpoint.token;
  t->seq = request.seq;
  t->attempt = request.attempt;
  t->virtual_time = request.virtual_time;
  t->timeout = request.timeout;
  // Only transfers that can have a connection now go to curl. Handing curl every attempt and letting it
  // queue them behind CURLMOPT_MAX_HOST_CONNECTIONS made each removal a scan of that queue (100k
  // subscriptions resuming on one host: minutes of curl_multi_remove_handle) and started the attempt's
  // timeout while it was still waiting for a connection.
  Host& host = hosts_[t->host];
  if (host.active < options_.max_host_connections) {
    ++host.active;
    dispatch(t);
  } else {
    host.waiting.push_back(handle);
  }
  return handle;
}

// Gives a transfer to curl: the headers (signed now, with the current time) and the easy handle.
void CurlTransport::dispatch(Transfer* t) {
  int64_t timestamp =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  bool bad_header = false;  // a secret that is not valid, or a value unfit for a header line
  const protocol::Signer* signer = nullptr;
  if (!t->signer_key.empty()) {
    auto it = signers_.find(t->signer_key);
    if (it == signers_.end()) {
      std::string_view key = t->signer_key;
      size_t nul = key.find('\0');
      auto made = protocol::make_signer(key.substr(nul + 1), key.substr(0, nul));
      if (made.ok()) it = signers_.emplace(t->signer_key, std::move(*made)).first;
    }
    signer = it != signers_.end() ? it->second.get() : nullptr;
    bad_header = signer == nullptr;
  }
  std::string& text = t->header_text;
  text.assign("expect:");  // no 100-continue round trip
  text.push_back('\0');
  auto add = [&](std::string_view name, std::string_view value) {
    // Values come from validated ids and tokens; refuse anything that could break a header line anyway.
    if (value.find_first_of("\r\n") != std::string_view::npos) bad_header = true;
    text.append(name).append(": ").append(value).push_back('\0');
  };
  protocol::build_delivery_headers({.event_id = t->event_id,
                                    .timestamp = timestamp,
                                    .seq = t->seq,
                                    .attempt = t->attempt,
                                    .virtual_time = t->virtual_time,
                                    .subscription = t->subscription},
                                   {.signer = signer, .bearer_token = signer ? "" : t->token}, *t->body, add);
  for (size_t at = 0; at < text.size(); at = text.find('\0', at) + 1)
    t->headers.push_back({text.data() + at, nullptr});
  for (size_t i = 0; i + 1 < t->headers.size(); ++i) t->headers[i].next = &t->headers[i + 1];

  // Real-time limits: the attempt timeout is on the engine's clock, which may run `speed` times faster,
  // but never below the real-time floor.
  Duration timeout =
      std::max(Duration(static_cast<int64_t>(static_cast<double>(t->timeout.count()) / options_.speed)),
               options_.min_real_timeout);
  CURL* e = nullptr;
  if (idle_easy_.empty()) {
    e = curl_easy_init();
  } else {
    e = static_cast<CURL*>(idle_easy_.back());
    idle_easy_.pop_back();
  }
  t->easy = e;
  set_transfer_options(e, t->url, timeout, options_, t->error);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body->data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body->size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers.data());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Callbacks::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Callbacks::open_socket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Callbacks::close_socket);
  curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);

  if (bad_header || curl_multi_add_handle(multi_, e) != CURLM_OK) {
    // Fail the attempt, asynchronously as the contract requires.
    curl_easy_setopt(e, CURLOPT_PRIVATE, nullptr);
    AttemptHandle handle = t->handle;
    asio::post(io_, [this, handle, t] {
      if (transfers_.contains(handle)) finish(t, -1);
    });
  }
}

// Keeps a finished transfer's easy handle (out of the multi handle) for a later transfer, up to the most
// that can be in curl at once per host; frees it beyond that.
void CurlTransport::recycle(void* easy) {
  if (idle_easy_.size() < static_cast<size_t>(options_.max_host_connections)) {
    idle_easy_.push_back(easy);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(easy));
  }
}

// A transfer of `host` left curl: its slot goes to the oldest waiting transfer still wanted.
void CurlTransport::release(const std::string& host_key) {
  auto it = hosts_.find(host_key);
  if (it == hosts_.end()) return;
  Host& host = it->second;
  --host.active;
  while (!host.waiting.empty() && host.active < options_.max_host_connections) {
    AttemptHandle next = host.waiting.front();
    host.waiting.pop_front();
    auto t = transfers_.find(next);
    if (t == transfers_.end()) continue;  // cancelled while waiting
    ++host.active;
    dispatch(t->second.get());
  }
  if (host.active == 0 && host.waiting.empty()) hosts_.erase(it);
}

void CurlTransport::cancel(AttemptHandle handle) {
  auto it = transfers_.find(handle);
  if (it == transfers_.end()) return;
  bool in_curl = it->second->easy != nullptr;
  std::string host = it->second->host;
  if (in_curl) curl_multi_remove_handle(multi_, it->second->easy);
  transfers_.erase(it);
  if (in_curl) release(host);
}

// Watches `descriptor` (which the new Socket owns) for curl's `fd`. False, and `descriptor` closed, on error.
bool CurlTransport::adopt(int fd, int descriptor) {
  auto s = std::make_shared<Socket>(io_);
  s->fd = fd;
  s->foreign = descriptor != fd;
  boost::system::error_code ec;
  s->descriptor.assign(descriptor, ec);
  if (ec) {
    ::close(descriptor);
    return false;
  }
  if (auto old = sockets_.find(fd); old != sockets_.end()) old->second->close();  // a stale foreign fd
  sockets_[fd] = std::move(s);
  return true;
}

// Makes sure an async_wait is pending for each direction curl wants. Waits are one-shot: each completion
// re-arms through here after telling curl.
void CurlTransport::watch(const std::shared_ptr<Socket>& s) {
  for (int poll : {CURL_POLL_IN, CURL_POLL_OUT}) {
    bool& waiting = poll == CURL_POLL_IN ? s->reading : s->writing;
    if (!(s->wanted & poll) || waiting) continue;
    waiting = true;
    auto direction = poll == CURL_POLL_IN ? asio::posix::descriptor_base::wait_read
                                          : asio::posix::descriptor_base::wait_write;
    s->descriptor.async_wait(direction, [this, weak = std::weak_ptr<Socket>(s), fd = s->fd,
                                         poll](const boost::system::error_code& ec) {
      auto s = weak.lock();
      if (!s) return;  // closed meanwhile
      bool in = poll == CURL_POLL_IN;
      (in ? s->reading : s->writing) = false;
      if (ec == asio::error::operation_aborted) return;
      if (s->wanted & poll)
        socket_action(fd, ec ? CURL_CSELECT_ERR : in ? CURL_CSELECT_IN : CURL_CSELECT_OUT);
      if (s->descriptor.is_open()) watch(s);
    });
  }
}

void CurlTransport::arm_timer(std::chrono::steady_clock::time_point at) {
  timer_armed_ = true;
  timer_.expires_at(at);  // cancels the wait in progress, whose handler then does nothing
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // moved or cancelled
    timer_armed_ = false;
    if (std::chrono::steady_clock::now() < timer_due_) {
      arm_timer(timer_due_);  // fired before the time curl wants: wait on
    } else {
      socket_action(CURL_SOCKET_TIMEOUT, 0);
    }
  });
}

void CurlTransport::socket_action(int fd, int events) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  check_finished();
}

void CurlTransport::check_finished() {
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
    CURLcode code = msg->data.result;
    curl_multi_remove_handle(multi_, msg->easy_handle);
    if (t != nullptr) finish(t, code);
  }
}

void CurlTransport::finish(Transfer* t, int curl_code) {
  AttemptResult r;
  r.latency = clock_.now() - t->started;
  long status = 0;
  if (curl_code >= 0) curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  r.status = static_cast<int>(status);
  r.error = curl_code < 0 ? ErrorClass::kOther
            : curl_code == CURLE_COULDNT_CONNECT && t->refused_address
                ? ErrorClass::kPrivateAddress
                : classify_curl_error(static_cast<CURLcode>(curl_code), status, t->capped, t->error);
  if (status != 0 && !is_2xx(r.status)) {  // the engine may honour it (RetryPolicy::honour_retry_after)
    curl_header* h = nullptr;
    // An HTTP-date there is the receiver's wall clock, so it is measured against this machine's wall clock,
    // not the scheduler's (virtual, accelerated) time.
    if (curl_easy_header(t->easy, protocol::kRetryAfterHeader.data(), 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
      r.retry_after = protocol::parse_retry_after(
          h->value, std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now()));
  }
  Done done = std::move(t->done);
  std::string host = std::move(t->host);
  if (t->easy) recycle(std::exchange(t->easy, nullptr));  // out of curl (or never in it): reusable
  transfers_.erase(t->handle);
  release(host);  // before `done`, which may send again: waiting transfers go first
  done(r);
}

}  // namespace hooksim::net
