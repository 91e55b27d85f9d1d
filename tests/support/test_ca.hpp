// A throwaway certificate authority for TLS tests, made in memory with OpenSSL (P-256 keys, valid for a day):
// its certificate, to trust, and server certificates it issues, as PEM files in a temporary directory.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace flashtix::test {

// What a TLS server presents: its certificate (then the CA's) and its private key.
struct ServerIdentity {
  std::string certificate_chain_file;
  std::string key_file;
};

class TestCa {
 public:
  // `name` is the CA's common name.
  explicit TestCa(const std::string& name = "FlashTix test CA");
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  // The CA's certificate (PEM), for --webhook-ca-file.
  const std::string& certificate_file() const { return certificate_file_; }

  // A server certificate signed by this CA for these subjectAltNames: DNS names and IP addresses.
  ServerIdentity issue(const std::vector<std::string>& dns_names, const std::vector<std::string>& ip_addresses);

 private:
  struct Keys;
  std::unique_ptr<Keys> keys_;
  std::string dir_;
  std::string certificate_file_;
  int issued_ = 0;
};

}  // namespace flashtix::test
