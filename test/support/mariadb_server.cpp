// The real-MariaDB harness of the MySQL sink's tests and benchmark.
#include "mariadb_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <mysql.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "free_port.hpp"

namespace lightflus::test {

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
}

struct Client {
  MYSQL* m = nullptr;
  Client(const std::string& host, int port, const std::string& database, bool multi) {
    m = mysql_init(nullptr);
    unsigned int timeout = 10;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    if (!mysql_real_connect(
            m, host.c_str(), "root", "", database.empty() ? nullptr : database.c_str(),
            static_cast<unsigned int>(port), nullptr, multi ? CLIENT_MULTI_STATEMENTS : 0)) {
      std::string error = mysql_error(m);
      mysql_close(m);
      throw std::runtime_error("cannot connect to the test MariaDB server as root: " + error);
    }
  }
  ~Client() { mysql_close(m); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
};

}  // namespace

MariaDbServer::MariaDbServer() {
  char tmpl[] = "/tmp/lightflus-mariadb-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  try {
    // Temp tables in the server's own dir: parallel servers sharing /tmp have deleted each
    // other's bootstrap temp files (ctest -j2: "Error on delete of '/tmp/#sql-temptable-...'").
    std::filesystem::create_directories(dir_ + "/tmp");
    std::string install =
        "mariadb-install-db --no-defaults --auth-root-authentication-method=normal "
        "--skip-test-db --skip-name-resolve --innodb-log-file-size=16M "
        "--innodb-data-file-path=ibdata1:10M:autoextend --datadir=" +
        dir_ + "/data --tmpdir=" + dir_ + "/tmp" + (::geteuid() == 0 ? " --user=root" : "") +
        " > " + dir_ + "/install.log 2>&1";
    if (std::system(install.c_str()) != 0)
      throw std::runtime_error("mariadb-install-db failed (is mariadb-server installed?):\n" +
                               readFile(dir_ + "/install.log"));
    port_ = freeLoopbackPort();
    start();
    execute(std::string("CREATE DATABASE ") + kDatabase + "; CREATE USER '" + kUser +
                "'@'%' IDENTIFIED BY '" + kPassword + "'; GRANT ALL ON *.* TO '" + kUser + "'@'%'",
            "");
  } catch (...) {
    kill();
    std::filesystem::remove_all(dir_);
    throw;
  }
}

MariaDbServer::~MariaDbServer() {
  kill();
  std::error_code ignored;  // a leftover directory must not turn into a crash at exit
  std::filesystem::remove_all(dir_, ignored);
}

void MariaDbServer::start() {
  if (pid_ > 0) return;
  std::vector<std::string> args{"mariadbd",
                                "--no-defaults",
                                "--datadir=" + dir_ + "/data",
                                "--tmpdir=" + dir_ + "/tmp",
                                "--socket=" + dir_ + "/mariadbd.sock",
                                "--pid-file=" + dir_ + "/mariadbd.pid",
                                "--log-error=" + dir_ + "/error.log",
                                "--port=" + std::to_string(port_),
                                "--bind-address=127.0.0.1",
                                "--skip-name-resolve",
                                "--skip-log-bin",
                                "--innodb-buffer-pool-size=32M",
                                "--innodb-log-file-size=16M",
                                "--innodb-data-file-path=ibdata1:10M:autoextend",
                                "--innodb-flush-log-at-trx-commit=2",
                                "--innodb-use-native-aio=0",
                                "--max-connections=200"};
  if (::geteuid() == 0) args.push_back("--user=root");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execvp("mariadbd", argv.data());
    ::_exit(127);
  }
  // Ready when root can log in over TCP.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("mariadbd exited at start:\n" + readFile(dir_ + "/error.log"));
    }
    try {
      Client probe(host_, port_, "", false);
      return;
    } catch (const std::runtime_error& e) {
      if (std::chrono::steady_clock::now() > deadline) {
        stop();
        throw std::runtime_error(std::string("mariadbd did not answer within 60 s: ") + e.what() +
                                 "\n" + readFile(dir_ + "/error.log"));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void MariaDbServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status;
  while (::waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
}

void MariaDbServer::kill() {
  if (pid_ <= 0) return;
  // Its data is thrown away: no need for a clean InnoDB shutdown.
  ::kill(pid_, SIGKILL);
  int status;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void MariaDbServer::restart() {
  stop();
  start();
}

void MariaDbServer::execute(const std::string& sql, const std::string& database) const {
  Client c(host_, port_, database, true);
  int status = mysql_query(c.m, sql.c_str());
  // Every statement's result must be read, and each may fail.
  for (;;) {
    if (status != 0) throw std::runtime_error("SQL failed: " + sql + ": " + mysql_error(c.m));
    if (MYSQL_RES* r = mysql_store_result(c.m)) mysql_free_result(r);
    int next = mysql_next_result(c.m);
    if (next == -1) break;
    status = next;
  }
}

std::vector<std::vector<std::string>> MariaDbServer::query(const std::string& sql,
                                                           const std::string& database) const {
  Client c(host_, port_, database, false);
  if (mysql_query(c.m, sql.c_str()) != 0)
    throw std::runtime_error("SQL failed: " + sql + ": " + mysql_error(c.m));
  MYSQL_RES* r = mysql_store_result(c.m);
  std::vector<std::vector<std::string>> rows;
  if (!r) return rows;
  unsigned int n = mysql_num_fields(r);
  while (MYSQL_ROW row = mysql_fetch_row(r)) {
    unsigned long* lengths = mysql_fetch_lengths(r);
    std::vector<std::string> cells;
    for (unsigned int i = 0; i < n; ++i)
      cells.push_back(row[i] ? std::string(row[i], lengths[i]) : std::string("NULL"));
    rows.push_back(std::move(cells));
  }
  mysql_free_result(r);
  return rows;
}

std::string MariaDbServer::createDatabase(const std::string& prefix) {
  std::string name = prefix + "_" + std::to_string(++databases_);
  execute("CREATE DATABASE " + name, "");
  return name;
}

MariaDbServer& sharedMariaDbServer() {
  static MariaDbServer server;
  return server;
}

}  // namespace lightflus::test
