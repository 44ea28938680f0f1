#include "cluster/nats.h"

#include <fmt/format.h>

#include "util/split.h"

namespace hooksim::cluster {

Status nats_status(natsStatus s, std::string_view what) {
  if (s == NATS_OK) return Status::OK();
  natsStatus ignored;
  const char* last = nats_GetLastError(&ignored);
  std::string text = natsStatus_GetText(s);
  if (last && *last && text != last) text = fmt::format("{} ({})", text, last);
  return Status::IOError(fmt::format("{}: {}", what, text));
}

namespace {

KvValue value_of(kvEntry* e) {
  KvValue v;
  v.key = kvEntry_Key(e);
  v.value.assign(static_cast<const char*>(kvEntry_Value(e)), static_cast<size_t>(kvEntry_ValueLen(e)));
  v.revision = kvEntry_Revision(e);
  v.deleted = kvEntry_Operation(e) != kvOp_Put;
  return v;
}

}  // namespace

Result<std::optional<KvValue>> Kv::get(const std::string& key) {
  kvEntry* e = nullptr;
  natsStatus s = kvStore_Get(&e, kv_.get(), key.c_str());
  NatsPtr<kvEntry> entry(e);
  if (s == NATS_NOT_FOUND) return std::optional<KvValue>();
  if (s != NATS_OK) return nats_status(s, "get " + key);
  return std::optional<KvValue>(value_of(e));
}

Result<std::optional<KvValue>> Kv::get_latest(const std::string& key, uint64_t* last_revision) {
  if (last_revision) *last_revision = 0;
  natsMsg* m = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetLastMsg(&m, js_, ("KV_" + bucket_).c_str(), ("$KV." + bucket_ + "." + key).c_str(),
                               nullptr, &err);
  NatsPtr<natsMsg> msg(m);
  if (s == NATS_NOT_FOUND) return std::optional<KvValue>();
  if (s != NATS_OK) return nats_status(s, "get " + key);
  if (last_revision) *last_revision = natsMsg_GetSequence(m);
  const char* op = nullptr;
  if (natsMsgHeader_Get(m, "KV-Operation", &op) == NATS_OK && op)
    return std::optional<KvValue>();  // DEL, PURGE
  KvValue v;
  v.key = key;
  v.value.assign(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
  v.revision = natsMsg_GetSequence(m);
  return std::optional<KvValue>(std::move(v));
}

Result<uint64_t> Kv::put(const std::string& key, std::string_view value) {
  uint64_t rev = 0;
  natsStatus s = kvStore_Put(&rev, kv_.get(), key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s != NATS_OK) return nats_status(s, "put " + key);
  return rev;
}

Result<uint64_t> Kv::create(const std::string& key, std::string_view value) {
  uint64_t rev = 0;
  natsStatus s = kvStore_Create(&rev, kv_.get(), key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s == NATS_OK) return rev;
  Status failed = nats_status(s, "create " + key);
  // The client reports a taken key as a failed publish ("wrong last sequence"): tell it from an outage.
  auto current = get_latest(key);
  if (current.ok() && current->has_value()) return Status::AlreadyExists(key + ": exists");
  return failed;
}

Result<uint64_t> Kv::update(const std::string& key, std::string_view value, uint64_t revision) {
  uint64_t rev = 0;
  natsStatus s =
      kvStore_Update(&rev, kv_.get(), key.c_str(), value.data(), static_cast<int>(value.size()), revision);
  if (s == NATS_OK) return rev;
  Status failed = nats_status(s, "update " + key);
  uint64_t last = 0;
  if (auto current = get_latest(key, &last); current.ok() && last != revision)
    return Status::FailedPrecondition(fmt::format("{}: not at revision {}", key, revision));
  return failed;
}

Status Kv::remove(const std::string& key) {
  return nats_status(kvStore_Delete(kv_.get(), key.c_str()), "delete " + key);
}

Status Kv::remove_if(const std::string& key, uint64_t revision) {
  natsMsg* m = nullptr;
  HOOKSIM_RETURN_IF_ERROR(nats_status(
      natsMsg_Create(&m, ("$KV." + bucket_ + "." + key).c_str(), nullptr, nullptr, 0), "delete " + key));
  NatsPtr<natsMsg> msg(m);
  HOOKSIM_RETURN_IF_ERROR(nats_status(natsMsgHeader_Set(m, "KV-Operation", "DEL"), "delete " + key));
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.ExpectLastSubjectSeq = revision;
  jsPubAck* ack = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_PublishMsg(&ack, js_, m, &po, &err);
  NatsPtr<jsPubAck> a(ack);
  return nats_status(s, "delete " + key);
}

KvWatcher::KvWatcher(Kv& kv, std::function<void(const KvValue&)> on_value, std::function<void()> on_ready)
    : kv_(kv), on_value_(std::move(on_value)), on_ready_(std::move(on_ready)) {}

KvWatcher::~KvWatcher() {
  if (watcher_) kvWatcher_Stop(watcher_.get());
  if (thread_.joinable()) thread_.join();
}

Status KvWatcher::start() {
  kvWatcher* w = nullptr;
  HOOKSIM_RETURN_IF_ERROR(nats_status(kvStore_WatchAll(&w, kv_.get(), nullptr), "watch"));
  watcher_.reset(w);
  thread_ = std::thread([this] {
    bool ready = false;
    for (;;) {
      kvEntry* e = nullptr;
      natsStatus s = kvWatcher_Next(&e, watcher_.get(), 1000);
      NatsPtr<kvEntry> entry(e);
      if (s == NATS_TIMEOUT) continue;
      if (s != NATS_OK) return;  // stopped (NATS_ILLEGAL_STATE) or the connection closed
      if (!e) {                  // the initial values are done
        if (!ready && on_ready_) on_ready_();
        ready = true;
        continue;
      }
      on_value_(value_of(e));
    }
  });
  return Status::OK();
}

Result<std::unique_ptr<Nats>> Nats::connect(const NatsOptions& options) {
  std::vector<std::string> urls;
  util::for_each_part(options.urls, ',', [&](std::string_view u) {
    if (!u.empty()) urls.emplace_back(u);
  });
  if (urls.empty()) return Status::InvalidArgument("--cluster: no NATS URL");
  std::vector<const char*> servers;
  for (const std::string& u : urls) servers.push_back(u.c_str());
  natsOptions* o = nullptr;
  HOOKSIM_RETURN_IF_ERROR(nats_status(natsOptions_Create(&o), "NATS options"));
  NatsPtr<natsOptions> opts(o);
  HOOKSIM_RETURN_IF_ERROR(
      nats_status(natsOptions_SetServers(o, servers.data(), static_cast<int>(servers.size())), "--cluster"));
  natsOptions_SetName(o, options.name.c_str());
  natsOptions_SetTimeout(o, options.timeout.count());
  natsOptions_SetAllowReconnect(o, true);
  natsOptions_SetMaxReconnect(o, -1);  // for ever: the node fences itself meanwhile (docs/cluster.md)
  natsOptions_SetReconnectWait(o, 200);
  // While disconnected, a request (a JetStream publish, a key-value write) fails at once instead of waiting
  // for its timeout: a node that lost NATS stops what it was doing rather than blocking on it.
  natsOptions_SetFailRequestsOnDisconnect(o, true);
  std::unique_ptr<Nats> n(new Nats());
  n->timeout_ = options.timeout;
  natsConnection* nc = nullptr;
  HOOKSIM_RETURN_IF_ERROR(
      nats_status(natsConnection_Connect(&nc, o), fmt::format("connect to {}", options.urls)));
  n->nc_.reset(nc);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = options.timeout.count();
  jsCtx* js = nullptr;
  HOOKSIM_RETURN_IF_ERROR(nats_status(natsConnection_JetStream(&js, nc, &jo), "JetStream"));
  n->js_.reset(js);
  return n;
}

Nats::~Nats() {
  js_.reset();
  if (nc_) natsConnection_Close(nc_.get());
}

bool Nats::connected() const {
  return natsConnection_Status(nc_.get()) == NATS_CONN_STATUS_CONNECTED;
}

Status Nats::ensure_stream(const std::string& name, const std::string& subject, int replicas,
                           std::chrono::milliseconds max_age, std::chrono::milliseconds duplicates) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char* subjects[] = {subject.c_str()};
  cfg.Name = name.c_str();
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = replicas;
  cfg.MaxAge = std::chrono::duration_cast<std::chrono::nanoseconds>(max_age).count();
  cfg.Duplicates = std::chrono::duration_cast<std::chrono::nanoseconds>(duplicates).count();
  jsStreamInfo* si = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_AddStream(&si, js_.get(), &cfg, nullptr, &err);
  NatsPtr<jsStreamInfo> info(si);
  if (s == NATS_OK) return Status::OK();
  if (err == JSStreamNameExistErr) {
    jsStreamInfo* updated = nullptr;
    s = js_UpdateStream(&updated, js_.get(), &cfg, nullptr, &err);
    NatsPtr<jsStreamInfo> u(updated);
    return nats_status(s, "update stream " + name);
  }
  return nats_status(s, "create stream " + name);
}

Result<uint64_t> Nats::last_seq(const std::string& stream) {
  jsStreamInfo* si = nullptr;
  jsErrCode err = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js_.get(), stream.c_str(), nullptr, &err);
  NatsPtr<jsStreamInfo> info(si);
  if (s != NATS_OK) return nats_status(s, "stream info " + stream);
  return si->State.LastSeq;
}

Result<std::unique_ptr<Kv>> Nats::bucket(const std::string& name, int replicas,
                                         std::chrono::milliseconds ttl) {
  kvStore* kv = nullptr;
  natsStatus s = js_KeyValue(&kv, js_.get(), name.c_str());
  if (s == NATS_OK) return std::make_unique<Kv>(NatsPtr<kvStore>(kv), js_.get(), name);
  kvConfig cfg;
  kvConfig_Init(&cfg);
  cfg.Bucket = name.c_str();
  cfg.History = 1;
  cfg.TTL = std::chrono::duration_cast<std::chrono::nanoseconds>(ttl).count();  // nats.c 3.4: nanoseconds
  cfg.Replicas = replicas;
  cfg.StorageType = js_FileStorage;
  s = js_CreateKeyValue(&kv, js_.get(), &cfg);
  if (s != NATS_OK) return nats_status(s, "create bucket " + name);
  return std::make_unique<Kv>(NatsPtr<kvStore>(kv), js_.get(), name);
}

}  // namespace hooksim::cluster
