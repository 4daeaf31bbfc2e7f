// A real MariaDB server (Debian's mariadb-server) for tests and benchmarks, and a plain
// Connector/C client to check what a job wrote.
//
// MariaDbServer initializes a data directory in a fresh temp dir (`mariadb-install-db`, about
// half a second), starts `mariadbd` on a free loopback port (TCP only, no grant-table
// shortcuts: a real user with a password), creates the user `lightflus`/`secret` with all
// privileges and the database `lightflus`, and in its destructor kills the server and removes
// the directory. The server dies with the test process even when that crashes
// (PR_SET_PDEATHSIG). restart() stops and starts it again on the same port and data.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace lightflus::test {

class MariaDbServer {
 public:
  /// Starts the server; throws std::runtime_error (with the server's log) if it cannot.
  MariaDbServer();
  ~MariaDbServer();
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  static constexpr const char* kUser = "lightflus";
  static constexpr const char* kPassword = "secret";
  static constexpr const char* kDatabase = "lightflus";

  /// Stops the server (SIGTERM, waits) and starts it again on the same port and data.
  void restart();
  /// Stops the server (SIGTERM: a clean shutdown); start() starts it again.
  void stop();
  /// Kills the server (SIGKILL).
  void kill();
  void start();

  /// Runs SQL statements (separated by ';') as root in `database` (empty: none).
  void execute(const std::string& sql, const std::string& database = kDatabase) const;
  /// Runs a query as root; every row as its columns' text ("NULL" for NULL).
  std::vector<std::vector<std::string>> query(const std::string& sql,
                                              const std::string& database = kDatabase) const;
  /// A new database for one test: "<prefix>_<n>", created empty.
  std::string createDatabase(const std::string& prefix);

 private:
  std::string dir_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  pid_t pid_ = -1;
  int databases_ = 0;
};

/// The server shared by the tests of one program (started on first use, stopped at exit).
MariaDbServer& sharedMariaDbServer();

}  // namespace lightflus::test
