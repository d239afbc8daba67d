#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <csignal>

int main(int argc, char* argv[]) {
  // The tests write to pipes and sockets whose other end may have gone (a child that exits early,
  // a daemon that was killed on purpose): that must be an error return, never a dead test binary.
  std::signal(SIGPIPE, SIG_IGN);
  return Catch::Session().run(argc, argv);
}
