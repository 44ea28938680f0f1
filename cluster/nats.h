// Nats: the parts of the NATS C client (libnats, JetStream and key-value) a cluster node uses, with RAII
// handles and hooksim Status errors. docs/cluster.md says what lives where.
//
// Thread-safety is the client's: a connection, its JetStream context and key-value handles may be used from
// any thread. Calls block for at most the connection's timeout (Options::timeout).
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/status.h"

namespace hooksim::cluster {

// A natsStatus as a Status ("what: text (last error)"); OK for NATS_OK.
Status nats_status(natsStatus s, std::string_view what);

struct NatsDeleter {
  void operator()(natsConnection* p) const { natsConnection_Destroy(p); }
  void operator()(jsCtx* p) const { jsCtx_Destroy(p); }
  void operator()(kvStore* p) const { kvStore_Destroy(p); }
  void operator()(kvEntry* p) const { kvEntry_Destroy(p); }
  void operator()(kvWatcher* p) const { kvWatcher_Destroy(p); }
  void operator()(natsMsg* p) const { natsMsg_Destroy(p); }
  void operator()(natsSubscription* p) const { natsSubscription_Destroy(p); }
  void operator()(jsPubAck* p) const { jsPubAck_Destroy(p); }
  void operator()(jsStreamInfo* p) const { jsStreamInfo_Destroy(p); }
  void operator()(jsMsgMetaData* p) const { jsMsgMetaData_Destroy(p); }
  void operator()(natsOptions* p) const { natsOptions_Destroy(p); }
};
template <class T>
using NatsPtr = std::unique_ptr<T, NatsDeleter>;

// One value of a key-value bucket.
struct KvValue {
  std::string key;
  std::string value;
  uint64_t revision = 0;
  bool deleted = false;  // a delete or purge marker (watchers see them)
};

// A key-value bucket.
class Kv {
 public:
  Kv(NatsPtr<kvStore> kv, jsCtx* js, std::string bucket)
      : kv_(std::move(kv)), js_(js), bucket_(std::move(bucket)) {}
  // The value of `key`; nullopt when absent or deleted. Answered by any replica: it may be a write behind.
  Result<std::optional<KvValue>> get(const std::string& key);
  // As get(), from the bucket stream's leader: the latest acknowledged value (what a new owner must read).
  // `last_revision`, when given, is set to the key's last revision whatever it holds (a value, or a delete
  // marker), 0 when it has none: what update() must name to write it next.
  Result<std::optional<KvValue>> get_latest(const std::string& key, uint64_t* last_revision = nullptr);
  // Writes `value`; its new revision.
  Result<uint64_t> put(const std::string& key, std::string_view value);
  // Writes `value` only if `key` has no value (absent, deleted or expired): AlreadyExists otherwise.
  Result<uint64_t> create(const std::string& key, std::string_view value);
  // Writes `value` only if `key`'s last revision is `revision` (0: if it has none): FailedPrecondition
  // otherwise.
  Result<uint64_t> update(const std::string& key, std::string_view value, uint64_t revision);
  // Deletes `key` (a delete marker).
  Status remove(const std::string& key);
  // Deletes `key` only if its last revision is `revision` (a lease handed back must still be the node's).
  Status remove_if(const std::string& key, uint64_t revision);
  kvStore* get() const { return kv_.get(); }

 private:
  NatsPtr<kvStore> kv_;
  jsCtx* js_;
  std::string bucket_;
};

// Calls `on_value` with every value of a bucket, then with every change, from its own thread, until
// destroyed. `on_ready` once, after the values present at the start.
class KvWatcher {
 public:
  KvWatcher(Kv& kv, std::function<void(const KvValue&)> on_value, std::function<void()> on_ready);
  ~KvWatcher();
  Status start();

 private:
  Kv& kv_;
  std::function<void(const KvValue&)> on_value_;
  std::function<void()> on_ready_;
  NatsPtr<kvWatcher> watcher_;
  std::thread thread_;
};

struct NatsOptions {
  std::string urls;  // "nats://host:port[,nats://…]"
  std::string name;  // the connection's name (the node's)
  std::chrono::milliseconds timeout{2000};
};

class Nats {
 public:
  // Connects (to any of the URLs; reconnecting to the others for ever when a server goes away).
  static Result<std::unique_ptr<Nats>> connect(const NatsOptions& options);
  ~Nats();

  natsConnection* connection() const { return nc_.get(); }
  jsCtx* js() const { return js_.get(); }
  bool connected() const;

  // The stream `name` taking `subject`, created or updated to these limits.
  Status ensure_stream(const std::string& name, const std::string& subject, int replicas,
                       std::chrono::milliseconds max_age, std::chrono::milliseconds duplicates);
  // The stream's last sequence number (0 when empty).
  Result<uint64_t> last_seq(const std::string& stream);
  // A key-value bucket, created when missing. `ttl` zero: values never expire.
  Result<std::unique_ptr<Kv>> bucket(const std::string& name, int replicas, std::chrono::milliseconds ttl);

 private:
  Nats() = default;
  NatsPtr<natsConnection> nc_;
  NatsPtr<jsCtx> js_;
  std::chrono::milliseconds timeout_{2000};
};

}  // namespace hooksim::cluster
