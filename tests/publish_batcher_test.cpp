// The group commit of POST /v1/events (service/publish_batcher.h), on a real io_context and engine, without
// HTTP: which requests share a batch, what each is told, and what a failed batch leaves.
#include "service/publish_batcher.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "engine/clock.h"
#include "protocol/envelope.h"
#include "storage/memory_store.h"

namespace hooksim::service {
namespace {

// Takes every attempt and never answers: queued events stay in the backlog, where the tests count them.
class SilentTransport final : public Transport {
 public:
  AttemptHandle send(const DeliveryRequest&, Done) override { return ++sent_; }
  void cancel(AttemptHandle) override {}

 private:
  AttemptHandle sent_ = 0;
};

// What one request was told.
struct Answer {
  std::string request;
  Status status;
  std::vector<bool> duplicate;
  uint64_t backlog_then;  // the subscription's backlog when the answer came
};

class PublishBatcherTest : public ::testing::Test {
 protected:
  void open(bool dedupe) {
    engine_ = std::make_unique<Engine>(
        clock_, store_, transport_, nullptr,
        EngineOptions{.dedupe_event_ids = dedupe, .envelope = protocol::make_envelope});
    ASSERT_TRUE(engine_->open().ok());
    SubscriptionConfig c;
    c.id = "all";
    c.endpoint.url = "http://127.0.0.1:9/";
    ASSERT_TRUE(engine_->add_subscription(c).ok());
    batcher_ =
        std::make_unique<PublishBatcher>(io_, [this](std::span<const Event> events, PublishResult* result) {
          return engine_->publish(events, result);
        });
  }

  static std::vector<Event> events(const std::vector<std::string>& ids) {
    std::vector<Event> out;
    for (const auto& id : ids) out.push_back(Event{id, "tracking", "acme", "v1", TimePoint{}, "{}"});
    return out;
  }

  uint64_t backlog() const { return engine_->find("all")->state.backlog(); }

  // Submits `ids` as request `name`; its answer goes to answers_ (and then `then`, if any, runs).
  void submit(const std::string& name, const std::vector<std::string>& ids, std::function<void()> then = {}) {
    batcher_->submit(events(ids), [this, name, then](const Status& st, const std::vector<Event>& events,
                                                     const std::vector<bool>& duplicate) {
      EXPECT_TRUE(!st.ok() || duplicate.size() == events.size()) << name;
      answers_.push_back({name, st, duplicate, backlog()});
      if (then) then();
    });
  }

  boost::asio::io_context io_;
  VirtualScheduler clock_{from_unix_ms(1'767'225'600'000)};
  storage::MemoryQueueStore store_;
  SilentTransport transport_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<PublishBatcher> batcher_;
  std::vector<Answer> answers_;
};

TEST_F(PublishBatcherTest, RequestsQueuedBeforeAFlushShareOneBatchAndAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(open(/*dedupe=*/false));
  submit("a", {"x"});
  submit("b", {"x", "y"});
  submit("c", {"z"});
  EXPECT_TRUE(answers_.empty());  // nothing is written or answered before the flush runs
  EXPECT_EQ(backlog(), 0u);
  io_.run();
  ASSERT_EQ(answers_.size(), 3u);
  EXPECT_EQ(answers_[0].request, "a");
  EXPECT_EQ(answers_[1].request, "b");
  EXPECT_EQ(answers_[2].request, "c");
  for (const Answer& a : answers_) {
    EXPECT_TRUE(a.status.ok()) << a.status.message();
    EXPECT_EQ(a.backlog_then, 3u) << a.request;  // one batch: everything stored before the first answer
  }
  // The repeat of x within the group is published once and answered as a duplicate.
  EXPECT_EQ(answers_[0].duplicate, std::vector<bool>{false});
  EXPECT_EQ(answers_[1].duplicate, (std::vector<bool>{true, false}));
  EXPECT_EQ(answers_[2].duplicate, std::vector<bool>{false});
}

TEST_F(PublishBatcherTest, ARequestSubmittedWhileAGroupIsAnsweredFormsTheNextGroup) {
  ASSERT_NO_FATAL_FAILURE(open(/*dedupe=*/false));
  submit("first", {"x"}, [this] {
    submit("next", {"x"});
    EXPECT_EQ(answers_.size(), 1u);  // not answered from inside the flush that is answering
  });
  io_.run();
  ASSERT_EQ(answers_.size(), 2u);
  EXPECT_EQ(answers_[0].backlog_then, 1u);
  // Another batch: without id dedupe, the same id is published again rather than skipped.
  EXPECT_EQ(answers_[1].request, "next");
  EXPECT_EQ(answers_[1].duplicate, std::vector<bool>{false});
  EXPECT_EQ(answers_[1].backlog_then, 2u);
}

TEST_F(PublishBatcherTest, AnIdPublishedByAnEarlierGroupIsADuplicateAtItsPlaceInTheRequest) {
  ASSERT_NO_FATAL_FAILURE(open(/*dedupe=*/true));
  submit("first", {"x"});
  io_.run();
  io_.restart();
  submit("a", {"y"});
  submit("b", {"z", "x", "y", "w"});
  io_.run();
  ASSERT_EQ(answers_.size(), 3u);
  EXPECT_EQ(answers_[1].duplicate, std::vector<bool>{false});
  EXPECT_EQ(answers_[2].duplicate, (std::vector<bool>{false, true, true, false}));
  EXPECT_EQ(backlog(), 4u);  // x, y, z, w once each
}

TEST_F(PublishBatcherTest, AFailedBatchAnswersEveryRequestOfItsGroupWithTheErrorAndStoresNothing) {
  ASSERT_NO_FATAL_FAILURE(open(/*dedupe=*/true));
  submit("good", {"x"});
  submit("bad", {"has space"});  // refused by the engine, so the whole batch is
  io_.run();
  ASSERT_EQ(answers_.size(), 2u);
  for (const Answer& a : answers_) {
    EXPECT_EQ(a.status.code(), Status::Code::kInvalidArgument) << a.request;
    EXPECT_TRUE(a.duplicate.empty()) << a.request;
  }
  EXPECT_EQ(backlog(), 0u);
  // Nothing of it was remembered either: x can be published afterwards.
  io_.restart();
  submit("again", {"x"});
  io_.run();
  ASSERT_EQ(answers_.size(), 3u);
  EXPECT_TRUE(answers_[2].status.ok());
  EXPECT_EQ(answers_[2].duplicate, std::vector<bool>{false});
}

}  // namespace
}  // namespace hooksim::service
