// SIP over TLS for the wire tests: a phone's TLS connection written with OpenSSL (Debian's SIPp
// has no TLS), and a stack whose edge listens for sips: with a certificate the test makes.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "stack_fixture.h"

namespace cc {

// One TLS connection to the edge, the server's certificate checked against `cafile`.
class TlsPhone {
 public:
  TlsPhone(int port, const std::string& cafile) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, cafile.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    sockaddr_in local{};
    socklen_t len = sizeof local;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len);
    local_port_ = ntohs(local.sin_port);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    verified_ = SSL_connect(ssl_) == 1 && SSL_get_verify_result(ssl_) == X509_V_OK;
  }
  ~TlsPhone() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) close(fd_);
    SSL_CTX_free(ctx_);
  }
  bool verified() const { return verified_; }
  int local_port() const { return local_port_; }

  void send(const std::string& msg) {
    ASSERT_EQ(SSL_write(ssl_, msg.data(), static_cast<int>(msg.size())),
              static_cast<int>(msg.size()));
  }

  // The next whole message (headers and Content-Length body); "" after `timeout`.
  std::string next(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const auto end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        const auto cl = Header(buffer_.substr(0, end), "Content-Length");
        const size_t total = end + 4 + (cl.empty() ? 0 : std::stoul(cl));
        if (buffer_.size() >= total) {
          std::string msg = buffer_.substr(0, total);
          buffer_.erase(0, total);
          return msg;
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      if (SSL_pending(ssl_) == 0) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      }
      char buf[4096];
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) return "";
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }

  // The value of the first header `name` in `msg` ("" if none).
  static std::string Header(const std::string& msg, const std::string& name) {
    std::istringstream in(msg);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.size() > name.size() && strncasecmp(line.c_str(), name.c_str(), name.size()) == 0 &&
          line[name.size()] == ':') {
        return line.substr(line.find_first_not_of(' ', name.size() + 1));
      }
    }
    return "";
  }

  // A response to `request`: its Via, From, Call-ID and CSeq, its To with our tag.
  static std::string Response(const std::string& request, const std::string& status,
                              const std::string& contact, const std::string& sdp = "") {
    std::string out = "SIP/2.0 " + status + "\r\n";
    std::istringstream in(request);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (strncasecmp(line.c_str(), "Via:", 4) == 0 || strncasecmp(line.c_str(), "From:", 5) == 0 ||
          strncasecmp(line.c_str(), "Call-ID:", 8) == 0 ||
          strncasecmp(line.c_str(), "CSeq:", 5) == 0) {
        out += line + "\r\n";
      } else if (strncasecmp(line.c_str(), "To:", 3) == 0) {
        out += line + (line.find(";tag=") == std::string::npos ? ";tag=tlsphone" : "") + "\r\n";
      }
    }
    out += "Contact: " + contact + "\r\n";
    if (!sdp.empty()) out += "Content-Type: application/sdp\r\n";
    out += "Content-Length: " + std::to_string(sdp.size()) + "\r\n\r\n" + sdp;
    return out;
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  int local_port_ = 0;
  bool verified_ = false;
  std::string buffer_;
};

// `name="value"` or `name=value` out of a WWW-Authenticate header.
inline std::string Param(const std::string& header, const std::string& name) {
  auto at = header.find(name + "=");
  if (at == std::string::npos) return "";
  at += name.size() + 1;
  if (header[at] == '"') return header.substr(at + 1, header.find('"', at + 1) - at - 1);
  return header.substr(at, header.find_first_of(", ", at) - at);
}

class TlsIt : public StackIt {
 protected:
  void SetUp() override {
    cert_dir_ = ::testing::TempDir() + "/tls-" + RandomHex(4);
    std::filesystem::create_directories(cert_dir_);
    // The local stack's recipe: a test CA, and a certificate for 127.0.0.1 signed by it.
    const auto ca =
        testing::RunCommand("openssl", {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                                        "2", "-subj", "/CN=cc test CA", "-keyout",
                                        cert_dir_ + "/ca.key", "-out", cert_dir_ + "/cafile.pem"});
    ASSERT_EQ(ca.exit_code, 0) << ca.errors;
    const auto csr = testing::RunCommand(
        "openssl", {"req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
                    cert_dir_ + "/key.pem", "-out", cert_dir_ + "/edge.csr"});
    ASSERT_EQ(csr.exit_code, 0) << csr.errors;
    std::ofstream(cert_dir_ + "/san.ext") << "subjectAltName=IP:127.0.0.1\n";
    const auto cert =
        testing::RunCommand("openssl", {"x509", "-req", "-in", cert_dir_ + "/edge.csr", "-CA",
                                        cert_dir_ + "/cafile.pem", "-CAkey", cert_dir_ + "/ca.key",
                                        "-CAcreateserial", "-days", "2", "-extfile",
                                        cert_dir_ + "/san.ext", "-out", cert_dir_ + "/cert.pem"});
    ASSERT_EQ(cert.exit_code, 0) << cert.errors;
    std::ofstream agent(cert_dir_ + "/agent.pem");
    agent << std::ifstream(cert_dir_ + "/key.pem").rdbuf()
          << std::ifstream(cert_dir_ + "/cert.pem").rdbuf();
    agent.close();
    tls_port_ = testing::FreePort();
    extra_edge_args_ = {"--sip-tls-listen=127.0.0.1:" + std::to_string(tls_port_),
                        "--sip-tls-cert-dir=" + cert_dir_};
    StackIt::SetUp();
  }
  void TearDown() override {
    StackIt::TearDown();
    std::filesystem::remove_all(cert_dir_);
  }
  std::string cert_dir_;
  int tls_port_ = 0;
};

}  // namespace cc
