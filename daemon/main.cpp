// sjsd: thin main over the daemon library.
#include "daemon.hpp"

int main(int argc, char** argv) {
  sjs::DaemonConfig config;
  int rc = sjs::parse_daemon_args(argc, argv, config);
  if (rc >= 0) return rc;
  return sjs::run_daemon(config);
}
