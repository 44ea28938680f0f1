// Checks of a store left by `hooksim serve` once every queue has drained (the crash audit and the soak).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>

#include "storage/rocks_store.h"

namespace hooksim::harness {

// Opens the store in `data` (no process may hold it) and expects it to hold no shared body: every body
// was deleted with its last queue entry, none leaked by a kill.
inline void expect_no_stored_body(const std::filesystem::path& data) {
  auto store = storage::RocksQueueStore::open(data.string(), {.sync = false});
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto bodies = (*store)->count_bodies();
  ASSERT_TRUE(bodies.ok()) << bodies.status().message();
  EXPECT_EQ(bodies->bodies, 0u);
  EXPECT_EQ(bodies->refs, 0u);
  EXPECT_EQ(bodies->in_memory, 0u);
}

}  // namespace hooksim::harness
