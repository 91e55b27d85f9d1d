// Certificates built with OpenSSL's X509 API: a self-signed CA (CA:TRUE, keyCertSign) and server
// certificates (CA:FALSE, serverAuth, subjectAltName) it signs.
#include "support/test_ca.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdexcept>

#include "support/posix.hpp"

namespace flashtix::test {

namespace {

constexpr long kValiditySeconds = 24 * 60 * 60;
// Not before a minute ago: the clocks of the test and of OpenSSL's check may differ by a little.
constexpr long kBackdateSeconds = 60;

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertificateFree {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Certificate = std::unique_ptr<X509, CertificateFree>;
using Bio = std::unique_ptr<BIO, BioFree>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test CA: ") + what + " failed");
}

Key new_key() {
  Key key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

void add_extension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  check(extension != nullptr, "X509V3_EXT_conf_nid");
  const int added = X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
  check(added == 1, "X509_add_ext");
}

// A certificate for `subject_key`, named `common_name`, its validity and serial set; not yet signed.
Certificate new_certificate(EVP_PKEY* subject_key, const std::string& common_name, long serial) {
  Certificate certificate(X509_new());
  check(certificate != nullptr, "X509_new");
  check(X509_set_version(certificate.get(), X509_VERSION_3) == 1, "X509_set_version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), serial) == 1, "ASN1_INTEGER_set");
  check(X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -kBackdateSeconds) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(certificate.get()), kValiditySeconds) != nullptr, "notAfter");
  check(X509_set_pubkey(certificate.get(), subject_key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(certificate.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) == 1,
        "X509_NAME_add_entry_by_txt");
  return certificate;
}

void write_pem(const std::string& path, X509* certificate, X509* then, EVP_PKEY* key) {
  Bio file(BIO_new_file(path.c_str(), "w"));
  check(file != nullptr, "BIO_new_file");
  if (certificate) check(PEM_write_bio_X509(file.get(), certificate) == 1, "PEM_write_bio_X509");
  if (then) check(PEM_write_bio_X509(file.get(), then) == 1, "PEM_write_bio_X509");
  if (key) {
    check(PEM_write_bio_PrivateKey(file.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM_write_bio_PrivateKey");
  }
}

}  // namespace

struct TestCa::Keys {
  Key key;
  Certificate certificate;
};

TestCa::TestCa(const std::string& name) : keys_(std::make_unique<Keys>()) {
  keys_->key = new_key();
  keys_->certificate = new_certificate(keys_->key.get(), name, 1);
  X509* ca = keys_->certificate.get();
  check(X509_set_issuer_name(ca, X509_get_subject_name(ca)) == 1, "X509_set_issuer_name");
  add_extension(ca, ca, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca, ca, NID_subject_key_identifier, "hash");
  check(X509_sign(ca, keys_->key.get(), EVP_sha256()) > 0, "X509_sign");
  dir_ = make_temp_dir("flashtix-ca-");
  certificate_file_ = dir_ + "/ca.pem";
  write_pem(certificate_file_, ca, nullptr, nullptr);
}

TestCa::~TestCa() { remove_tree(dir_); }

ServerIdentity TestCa::issue(const std::vector<std::string>& dns_names, const std::vector<std::string>& ip_addresses) {
  ++issued_;
  Key key = new_key();
  const std::string common_name = dns_names.empty() ? ip_addresses.at(0) : dns_names.at(0);
  Certificate certificate = new_certificate(key.get(), common_name, 1 + issued_);
  X509* ca = keys_->certificate.get();
  check(X509_set_issuer_name(certificate.get(), X509_get_subject_name(ca)) == 1, "X509_set_issuer_name");
  std::string names;
  for (const std::string& dns : dns_names) names += (names.empty() ? "DNS:" : ",DNS:") + dns;
  for (const std::string& ip : ip_addresses) names += (names.empty() ? "IP:" : ",IP:") + ip;
  add_extension(certificate.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(certificate.get(), ca, NID_key_usage, "critical,digitalSignature");
  add_extension(certificate.get(), ca, NID_ext_key_usage, "serverAuth");
  add_extension(certificate.get(), ca, NID_subject_alt_name, names);
  add_extension(certificate.get(), ca, NID_authority_key_identifier, "keyid:always");
  check(X509_sign(certificate.get(), keys_->key.get(), EVP_sha256()) > 0, "X509_sign");

  ServerIdentity identity{dir_ + "/server-" + std::to_string(issued_) + ".pem",
                          dir_ + "/server-" + std::to_string(issued_) + ".key"};
  write_pem(identity.certificate_chain_file, certificate.get(), ca, nullptr);
  write_pem(identity.key_file, nullptr, nullptr, key.get());
  return identity;
}

}  // namespace flashtix::test
