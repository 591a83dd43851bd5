// RFC 4475's torture messages (tests/sip/rfc4475: section 3 of the RFC in its own notation,
// with what the RFC expects and what the edge answers) sent to the running edge, each on the
// transport its top Via names: UDP from 127.0.0.3 (no other test uses that address), whose
// answers come back, as RFC 3261 18.2.2 says, to the source address at the Via's port (5060
// unless the Via names one; no torture message asks for rport); TCP from 127.0.0.3, answered on
// the connection; TLS as tls_fixture.h connects. Each message gets the answer the manifest
// expects (a code, a class, or none), the edge never crashes and answers an OPTIONS after all
// of them, and no message made it look up a name other than the one the bad-version request
// carries (refused: name_guard.cpp).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "tls_fixture.h"

namespace cc {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const char* const kSource = "127.0.0.3";
const std::string kDir = std::string(CC_SIP_SCENARIOS) + "/rfc4475/";

// One line of expected.tsv.
struct Torture {
  std::string file, section, kind, verdict, rfc, transport, expect, note;
};

std::vector<Torture> LoadManifest() {
  std::vector<Torture> out;
  std::ifstream in(kDir + "expected.tsv");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string col; std::getline(ss, col, '\t');) f.push_back(col);
    f.resize(8);
    out.push_back({f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]});
  }
  return out;
}

// RFC 4475 section 2: <allOneLine> blocks joined, every line break CRLF, then <repeat count=N>
// and <hex> expanded (after the line breaks: a <hex> run may hold CR and LF octets).
std::string Expand(const std::string& text) {
  std::string joined;
  bool one_line = false;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line == "<allOneLine>") {
      one_line = true;
      continue;
    }
    if (line == "</allOneLine>") {
      one_line = false;
      joined += "\r\n";
      continue;
    }
    joined += line;
    if (!one_line) joined += "\r\n";
  }
  static const std::regex repeat("<repeat count=([0-9]+)>([^<]*)</repeat>");
  std::smatch m;
  while (std::regex_search(joined, m, repeat)) {
    std::string r;
    for (int i = std::stoi(m[1].str()); i > 0; --i) r += m[2].str();
    joined.replace(static_cast<size_t>(m.position(0)), static_cast<size_t>(m.length(0)), r);
  }
  for (size_t at; (at = joined.find("<hex>")) != std::string::npos;) {
    const size_t end = joined.find("</hex>", at);
    std::string bytes;
    for (size_t i = at + 5; i + 1 < end; i += 2) {
      bytes += static_cast<char>(std::stoi(joined.substr(i, 2), nullptr, 16));
    }
    joined.replace(at, end + 6 - at, bytes);
  }
  return joined;
}

// The value of Call-ID (or its compact form i) in the header block, "" without one.
std::string CallIdOf(const std::string& msg) {
  static const std::regex call_id("\r\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*)", std::regex::icase);
  std::smatch m;
  const std::string head = msg.substr(0, msg.find("\r\n\r\n"));
  return std::regex_search(head, m, call_id) ? m[1].str() : "";
}

int StatusOf(const std::string& response) {
  if (response.rfind("SIP/2.0 ", 0) != 0 || response.size() < 11) return 0;
  return std::atoi(response.substr(8, 3).c_str());
}

// "none" (no final answer), "400", "4xx", or several of these joined by '|'.
bool Meets(const std::string& expect, int status) {
  std::stringstream ss(expect);
  for (std::string e; std::getline(ss, e, '|');) {
    if (e == "none" && status == 0) return true;
    if (status == 0 || e.size() != 3) continue;
    const std::string s = std::to_string(status);
    if (e == s || (e[1] == 'x' && e[2] == 'x' && e[0] == s[0])) return true;
  }
  return false;
}

int BoundSocket(int type, int port) {
  const int fd = socket(AF_INET, type, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, kSource, &a.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

class Rfc4475It : public TlsIt {
 protected:
  sockaddr_in Edge() const {
    sockaddr_in edge{};
    edge.sin_family = AF_INET;
    edge.sin_port = htons(static_cast<uint16_t>(sip_port_));
    edge.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return edge;
  }

  // The final status the edge answered `msg` with (0: none within `wait`). Answers to other
  // messages (a 4xx to an INVITE is repeated until ACKed, and torture INVITEs get no ACK) are
  // told apart by Call-ID; a message without one takes an answer without one.
  int Send(const Torture& t, const std::string& msg, milliseconds wait) {
    const std::string id = CallIdOf(msg);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    auto final_for_us = [&](const std::string& r) {
      return StatusOf(r) >= 200 && CallIdOf(r) == id;
    };
    if (t.transport == "tls") {
      TlsPhone phone(tls_port_, cert_dir_ + "/cafile.pem");
      EXPECT_TRUE(phone.verified());
      phone.send(msg);
      for (std::string r; !(r = phone.next(wait)).empty();) {
        if (final_for_us(r)) return StatusOf(r);
      }
      return 0;
    }
    if (t.transport == "tcp") {
      const int fd = BoundSocket(SOCK_STREAM, 0);
      auto edge = Edge();
      EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&edge), sizeof edge), 0);
      EXPECT_EQ(send(fd, msg.data(), msg.size(), MSG_NOSIGNAL), static_cast<ssize_t>(msg.size()));
      std::string got;
      int status = 0;
      while (status == 0 && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        char buf[8192];
        const auto n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;  // the edge closed the connection
        got.append(buf, static_cast<size_t>(n));
        for (size_t at = 0; (at = got.find("SIP/2.0 ", at)) != std::string::npos; ++at) {
          const std::string r = got.substr(at);
          if (final_for_us(r)) status = StatusOf(r);
        }
      }
      close(fd);
      return status;
    }
    auto edge = Edge();
    EXPECT_GT(
        sendto(udp_[0], msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&edge), sizeof edge),
        0);
    while (std::chrono::steady_clock::now() < deadline) {
      std::vector<pollfd> p;
      for (int fd : udp_) p.push_back({fd, POLLIN, 0});
      if (poll(p.data(), p.size(), 50) <= 0) continue;
      for (const auto& q : p) {
        if (!(q.revents & POLLIN)) continue;
        char buf[65536];
        const auto n = recv(q.fd, buf, sizeof buf, 0);
        if (n <= 0) continue;
        const std::string r(buf, static_cast<size_t>(n));
        if (final_for_us(r)) return StatusOf(r);
      }
    }
    return 0;
  }

  void SetUp() override {
    TlsIt::SetUp();
    // Where UDP answers go: 5060 by default, and the ports two Vias name.
    for (int port : {5060, 5050, 5070}) {
      const int fd = BoundSocket(SOCK_DGRAM, port);
      ASSERT_GE(fd, 0) << kSource << ":" << port << " is taken";
      udp_.push_back(fd);
    }
  }
  void TearDown() override {
    for (int fd : udp_) close(fd);
    TlsIt::TearDown();
  }
  std::vector<int> udp_;
};

TEST(Rfc4475Data, EveryMessageExpandsToAWholeMessage) {
  const auto manifest = LoadManifest();
  ASSERT_EQ(manifest.size(), 49u) << "section 3 of RFC 4475 has 49 messages";
  for (const auto& t : manifest) {
    std::ifstream in(kDir + t.file, std::ios::binary);
    ASSERT_TRUE(in) << t.file;
    const std::string msg = Expand(std::string(std::istreambuf_iterator<char>(in), {}));
    EXPECT_NE(msg.find("\r\n\r\n"), std::string::npos) << t.file << ": no end of headers";
    EXPECT_EQ(t.kind == "response", msg.rfind("SIP/2.0 ", 0) == 0) << t.file;
    EXPECT_FALSE(t.expect.empty()) << t.file << ": what the edge answers is not written";
  }
  // The notation checked on two messages whose size the RFC fixes: wsinv's body is the 150
  // octets its Content-Length says; longreq's is 2 lines of 150-odd octets after 20 "really"s.
  std::ifstream wsinv(kDir + "wsinv.dat");
  const std::string w = Expand(std::string(std::istreambuf_iterator<char>(wsinv), {}));
  EXPECT_EQ(w.size() - w.find("\r\n\r\n") - 4, 150u);
  std::ifstream longreq(kDir + "longreq.dat");
  const std::string l = Expand(std::string(std::istreambuf_iterator<char>(longreq), {}));
  EXPECT_NE(l.find("Call-ID: longreq.one" + std::string("really") + "really"), std::string::npos);
  EXPECT_EQ(l.find("<repeat"), std::string::npos);
}

TEST_F(Rfc4475It, TheEdgeAnswersEachTortureMessageAsTheRfcExpects) {
  const auto manifest = LoadManifest();
  ASSERT_FALSE(manifest.empty());
  std::string table;
  int unmet = 0;
  for (const auto& t : manifest) {
    std::ifstream in(kDir + t.file, std::ios::binary);
    const std::string msg = Expand(std::string(std::istreambuf_iterator<char>(in), {}));
    // An expected answer comes at once; "none" is waited for a little longer.
    const int status = Send(t, msg, milliseconds(t.expect == "none" ? 1500 : 3000));
    const bool ok = Meets(t.expect, status);
    unmet += ok ? 0 : 1;
    table += (ok ? "  " : "X ") + t.file + " (" + t.section + ", " + t.transport + "): answered " +
             (status ? std::to_string(status) : "nothing") + ", expected " + t.expect + "\n";
  }
  EXPECT_EQ(unmet, 0) << table;
  std::printf("%s", table.c_str());

  // Alive and answering afterwards.
  ASSERT_TRUE(edge_->process().running());
  const std::string options =
      "OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.3:5060;branch=z9hG4bK-after"
      "\r\nMax-Forwards: 70\r\nFrom: <sip:probe@127.0.0.3>;tag=after\r\nTo: "
      "<sip:edge@127.0.0.1>\r\nCall-ID: after-torture\r\nCSeq: 1 OPTIONS\r\nContent-Length: "
      "0\r\n\r\n";
  Torture probe;
  probe.transport = "udp";
  EXPECT_EQ(Send(probe, options, milliseconds(3000)), 200);

  // The only name any message asked the stack to resolve is badvers' Via host, and it was
  // refused: every other answer went to the address the message came from.
  const std::string log = edge_->process().output();
  std::vector<std::string> names;
  static const std::regex refused("refused to look up a name[^\\n]*\"name\":\"([^\"]*)\"");
  for (std::sregex_iterator i(log.begin(), log.end(), refused), end; i != end; ++i) {
    names.push_back((*i)[1].str());
  }
  EXPECT_EQ(names, std::vector<std::string>{"c.example.com"});
}

}  // namespace
}  // namespace cc
