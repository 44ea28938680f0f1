// Publishing: Engine::publish, and the staged publish that shards of one service share (engine.h).
#include <fmt/format.h>

#include <unordered_set>

#include "engine/engine.h"
#include "engine/engine_sub.h"

namespace hooksim {

Result<std::vector<bool>> Engine::prepare_publish(QueueStore& store, bool dedupe,
                                                  std::span<const Event> events) {
  for (size_t i = 0; i < events.size(); ++i) {
    if (Status st = validate_event_id(events[i].id); !st.ok())
      return Status::InvalidArgument(fmt::format("events[{}].id: {}", i, st.message()));
  }
  if (events.size() > 1) {  // the simulator publishes one event at a time: no set to build then
    std::unordered_set<std::string_view> ids;
    ids.reserve(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      if (!ids.insert(events[i].id).second)
        return Status::InvalidArgument(fmt::format("events[{}].id: '{}' appears twice", i, events[i].id));
    }
  }
  if (!dedupe) return std::vector<bool>(events.size(), false);
  std::vector<std::string_view> keys;
  keys.reserve(events.size());
  for (const Event& e : events) keys.push_back(e.id);
  return store.find_event_ids(keys);
}

std::vector<std::string> Engine::add_publish(StoreBatch& batch, std::span<const Event> events,
                                             const std::vector<bool>& skip,
                                             std::span<const StagedPublish* const> staged, TimePoint now,
                                             const EnvelopeEncoder& envelope, bool remember_ids,
                                             bool keep_bodies) {
  std::vector<std::string> bodies(keep_bodies ? events.size() : 0);
  std::vector<QueueSlot> slots;  // the queues the event joins, in every engine: its body is stored once
  for (size_t i = 0; i < events.size(); ++i) {
    if (skip[i]) continue;
    if (remember_ids) batch.remember_event_id(events[i].id, now);
    slots.clear();
    for (const StagedPublish* s : staged)
      slots.insert(slots.end(), s->slots.begin() + s->first_slot[i], s->slots.begin() + s->first_slot[i + 1]);
    std::string body;  // built once per event, only if some subscription queues it
    if (!slots.empty()) {
      body = envelope(events[i]);
      batch.enqueue_many(slots, now, events[i].id, body);
    }
    if (keep_bodies) bodies[i] = std::move(body);
  }
  for (const StagedPublish* s : staged)
    for (const QueueTail& tail : s->tails) batch.put_tail(tail);
  return bodies;
}

void Engine::stage_publish(std::span<const Event> events, const std::vector<bool>& skip, StagedPublish& out) {
  out = StagedPublish{};
  staged_ = Staged{};
  const bool report = observer_ != nullptr && observer_->wants_published();
  const uint64_t mark = ++publish_mark_;
  auto touch = [&](Sub* sub) -> Staged::Touch& {
    if (sub->publish_mark != mark) {
      sub->publish_mark = mark;
      sub->publish_index = staged_.touched.size();
      staged_.touched.push_back({sub, 0, sub->state.state != SubState::kDeactivated});
    }
    return staged_.touched[sub->publish_index];
  };
  out.first_slot.reserve(events.size() + 1);
  for (size_t i = 0; i < events.size(); ++i) {
    out.first_slot.push_back(out.slots.size());
    if (report) staged_.first_dropped.push_back(staged_.dropped.size());
    if (skip[i]) continue;
    const Event& event = events[i];
    index_.candidates(event, candidates_, [&](Sub* sub) {
      if (!sub->config.filter.matches(event)) return;
      Staged::Touch& t = touch(sub);
      ++t.count;
      if (!t.active) {
        if (report) staged_.dropped.push_back(sub);
        return;
      }
      out.slots.push_back({sub->key, sub->state.next_seq + t.count - 1});
      if (report) staged_.slot_subs.push_back(sub);
    });
  }
  out.first_slot.push_back(out.slots.size());
  if (report) {
    staged_.first_dropped.push_back(staged_.dropped.size());
    staged_.first_slot = out.first_slot;
    staged_.slots = out.slots;
  }
  for (const Staged::Touch& t : staged_.touched) {
    const DeliveryState& st = t.sub->state;
    out.tails.push_back(t.active ? QueueTail{t.sub->key, st.next_seq + t.count, st.dropped_inactive}
                                 : QueueTail{t.sub->key, st.next_seq, st.dropped_inactive + t.count});
  }
  staged_.pending = true;
}

void Engine::abort_publish() {
  staged_ = Staged{};
}

void Engine::commit_publish(std::span<const Event> events, const std::vector<bool>& skip,
                            std::span<const std::string> bodies, TimePoint published_at) {
  if (!staged_.pending) return;
  Staged staged = std::move(staged_);
  staged_ = Staged{};
  std::vector<Sub*> discard;  // deactivated since the publish was staged (by its own deadline timer)
  for (const Staged::Touch& t : staged.touched) {
    DeliveryState& st = t.sub->state;
    if (!t.active) {
      st.dropped_inactive += t.count;
      continue;
    }
    st.next_seq += t.count;
    if (st.state == SubState::kDeactivated) discard.push_back(t.sub);
  }
  if (observer_ != nullptr && observer_->wants_published() && !staged.first_slot.empty()) {
    std::vector<std::pair<std::string_view, uint64_t>> queued;
    std::vector<std::string_view> dropped;
    for (size_t i = 0; i < events.size(); ++i) {
      if (skip[i]) continue;
      queued.clear();
      dropped.clear();
      for (size_t k = staged.first_slot[i]; k < staged.first_slot[i + 1]; ++k)
        queued.emplace_back(staged.slot_subs[k]->config.id, staged.slots[k].seq);
      for (size_t d = staged.first_dropped[i]; d < staged.first_dropped[i + 1]; ++d)
        dropped.push_back(staged.dropped[d]->config.id);
      observer_->on_published({&events[i],
                               i < bodies.size() ? std::string_view(bodies[i]) : std::string_view(),
                               published_at, queued, dropped});
    }
  }
  for (Sub* sub : discard) {
    // Its backlog was discarded after the publish was staged, before it was written: these events go the
    // same way (and a crash before this write is repaired by open()).
    DeliveryState& st = sub->state;
    st.discarded += st.backlog();
    note_removed(*sub, st.head_seq, st.next_seq);
    st.head_seq = st.next_seq;
    persist_state(*sub);
  }
  // A subscription whose success waits for flush() sends its next event from there, once that is written.
  for (const Staged::Touch& t : staged.touched)
    if (t.active && !t.sub->unflushed) kick(*t.sub);
}

PublishResult Engine::publish_result(const std::vector<bool>& skip,
                                     std::span<const StagedPublish* const> staged) {
  PublishResult out;
  for (size_t i = 0; i < skip.size(); ++i)
    if (skip[i]) out.duplicates.push_back(i);
  for (const StagedPublish* s : staged) out.fanout += s->slots.size();
  return out;
}

Status Engine::publish(std::span<const Event> events, PublishResult* result) {
  if (result) *result = PublishResult{};
  auto prepared = prepare_publish(store_, options_.dedupe_event_ids, events);
  if (!prepared.ok()) return prepared.status();
  const std::vector<bool>& skip = *prepared;
  StagedPublish staged;
  stage_publish(events, skip, staged);
  const TimePoint now = scheduler_.now();
  auto batch = store_.new_batch();
  const StagedPublish* all[] = {&staged};
  std::vector<std::string> bodies =
      add_publish(*batch, events, skip, all, now, options_.envelope, options_.dedupe_event_ids,
                  observer_ != nullptr && observer_->wants_published());
  if (batch->size() > 0) {
    if (Status st = store_.write(*batch, Durability::kSynced); !st.ok()) {
      abort_publish();
      return st;
    }
  }
  commit_publish(events, skip, bodies, now);
  if (result) *result = publish_result(skip, all);
  return Status::OK();
}

}  // namespace hooksim
