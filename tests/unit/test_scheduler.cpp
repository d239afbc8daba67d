#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "scheduler.hpp"

using sjs::Scheduler;

namespace {

// Takes jobs until none can run; returns their ids in the order taken.
std::vector<std::string> take_all(Scheduler& s) {
  std::vector<std::string> out;
  while (auto id = s.take()) out.push_back(*id);
  return out;
}

}  // namespace

TEST_CASE("scheduler: slots cap how many jobs run at once", "[scheduler]") {
  Scheduler s(2);
  for (int i = 1; i <= 5; ++i) s.push("j" + std::to_string(i), 0, static_cast<std::uint64_t>(i));
  CHECK(s.queued() == 5);
  CHECK(take_all(s) == std::vector<std::string>{"j1", "j2"});
  CHECK(s.running() == 2);
  CHECK(s.queued() == 3);
  CHECK_FALSE(s.take().has_value());
  CHECK(s.running() == 2);
}

TEST_CASE("scheduler: release frees a slot for the next queued job", "[scheduler]") {
  Scheduler s(1);
  s.push("a", 0, 1);
  s.push("b", 0, 2);
  REQUIRE(s.take() == std::optional<std::string>("a"));
  CHECK_FALSE(s.take().has_value());
  s.release();
  CHECK(s.running() == 0);
  CHECK(s.take() == std::optional<std::string>("b"));
  CHECK(s.running() == 1);
  s.release();
  s.release();  // an extra release never goes below zero
  CHECK(s.running() == 0);
  CHECK_FALSE(s.take().has_value());  // nothing queued
  CHECK(s.running() == 0);
}

TEST_CASE("scheduler: a higher priority runs first whatever its submission order", "[scheduler]") {
  Scheduler s(10);
  s.push("low", -1, 1);
  s.push("normal", 0, 2);
  s.push("high", 5, 3);
  s.push("highest", 100, 4);
  CHECK(take_all(s) == std::vector<std::string>{"highest", "high", "normal", "low"});
}

TEST_CASE("scheduler: within a priority jobs run first-submitted first (by seq)", "[scheduler]") {
  Scheduler s(10);
  // Pushed out of seq order: seq decides, not push order.
  s.push("third", 1, 30);
  s.push("first", 1, 10);
  s.push("other", 0, 5);
  s.push("second", 1, 20);
  CHECK(take_all(s) == std::vector<std::string>{"first", "second", "third", "other"});
}

TEST_CASE("scheduler: one slot drains the queue in priority then seq order", "[scheduler]") {
  Scheduler s(1);
  s.push("a", 0, 1);
  s.push("b", 2, 2);
  s.push("c", 0, 3);
  s.push("d", 2, 4);
  std::vector<std::string> order;
  while (auto id = s.take()) {
    order.push_back(*id);
    CHECK(s.running() == 1);
    s.release();
  }
  CHECK(order == std::vector<std::string>{"b", "d", "a", "c"});
}

TEST_CASE("scheduler: remove() drops a queued job and reports whether it was queued", "[scheduler]") {
  Scheduler s(1);
  s.push("a", 0, 1);
  s.push("b", 0, 2);
  s.push("c", 0, 3);
  CHECK(s.contains("b"));
  CHECK(s.remove("b"));
  CHECK_FALSE(s.contains("b"));
  CHECK(s.queued() == 2);
  CHECK_FALSE(s.remove("b"));
  CHECK_FALSE(s.remove("never-pushed"));

  REQUIRE(s.take() == std::optional<std::string>("a"));
  CHECK_FALSE(s.contains("a"));  // running, no longer queued
  CHECK_FALSE(s.remove("a"));    // so remove() does not find it
  CHECK(s.running() == 1);
  s.release();
  CHECK(take_all(s) == std::vector<std::string>{"c"});
}

TEST_CASE("scheduler: a duplicate push of a queued job is ignored", "[scheduler]") {
  Scheduler s(5);
  s.push("a", 0, 1);
  s.push("b", 0, 2);
  s.push("a", 99, 3);  // same id: the first entry (priority 0, seq 1) stands
  CHECK(s.queued() == 2);
  CHECK(take_all(s) == std::vector<std::string>{"a", "b"});
  CHECK(s.queued() == 0);
}

TEST_CASE("scheduler: set_slots changes the cap and fewer than one slot means one", "[scheduler]") {
  Scheduler s(1);
  for (int i = 1; i <= 4; ++i) s.push("j" + std::to_string(i), 0, static_cast<std::uint64_t>(i));
  CHECK(take_all(s).size() == 1);
  s.set_slots(3);
  CHECK(s.slots() == 3);
  CHECK(take_all(s) == std::vector<std::string>{"j2", "j3"});
  CHECK(s.running() == 3);

  // Shrinking does not stop running jobs, but nothing new starts until below the cap.
  s.set_slots(2);
  CHECK_FALSE(s.take().has_value());
  s.release();
  CHECK_FALSE(s.take().has_value());  // 2 running, cap 2
  s.release();
  CHECK(s.take() == std::optional<std::string>("j4"));

  s.set_slots(0);
  CHECK(s.slots() == 1);
  s.set_slots(-3);
  CHECK(s.slots() == 1);
  CHECK(Scheduler(0).slots() == 1);
  CHECK(Scheduler(-1).slots() == 1);
}
