// SIP over TLS on the wire: the edge's sips: listener with a certificate made by the test
// (openssl), a phone that registers with digest auth over TLS and takes a call on the same TLS
// connection, while the customer calls over UDP. Debian's SIPp is built without TLS, so the
// phone here is a small TLS client written with OpenSSL (stack_fixture.h for the rest).
#include <sofia-sip/auth_digest.h>

#include "tls_fixture.h"

namespace cc {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_F(TlsIt, APhoneRegistersAndTakesACallOverTls) {
  AddQueue("secure", v1::ANSWER_MODE_RING_UNTIL_AGENT, 10);
  AddAgent("3001", "pw3001", {"secure"});
  TlsPhone phone(tls_port_, cert_dir_ + "/cafile.pem");
  ASSERT_TRUE(phone.verified()) << "the edge's certificate checks against the test CA";
  const std::string me = "127.0.0.1:" + std::to_string(phone.local_port());
  const std::string contact = "<sip:3001@" + me + ";transport=tls>";
  auto request = [&](const std::string& method, int cseq, const std::string& extra) {
    return method + " sip:127.0.0.1:" + std::to_string(tls_port_) +
           ";transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS " + me + ";branch=z9hG4bK-tls-" +
           std::to_string(cseq) +
           ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:3001@127.0.0.1>;tag=ph" +
           "\r\nTo: <sip:3001@127.0.0.1>\r\nCall-ID: tls-phone-1\r\nCSeq: " + std::to_string(cseq) +
           " " + method + "\r\nContact: " + contact + "\r\nExpires: 300\r\n" + extra +
           "Content-Length: 0\r\n\r\n";
  };
  phone.send(request("OPTIONS", 1, ""));
  EXPECT_EQ(phone.next(seconds(5)).rfind("SIP/2.0 200", 0), 0u);

  // Digest registration over TLS.
  phone.send(request("REGISTER", 2, ""));
  const std::string challenge = phone.next(seconds(5));
  ASSERT_EQ(challenge.rfind("SIP/2.0 401", 0), 0u) << challenge;
  const std::string www = TlsPhone::Header(challenge, "WWW-Authenticate");
  const std::string nonce = Param(www, "nonce"), opaque = Param(www, "opaque");
  const std::string uri = "sip:127.0.0.1:" + std::to_string(tls_port_) + ";transport=tls";
  auth_response_t ar{};
  ar.ar_size = sizeof ar;
  ar.ar_username = "3001";
  ar.ar_realm = "test.local";
  ar.ar_nonce = nonce.c_str();
  ar.ar_uri = uri.c_str();
  ar.ar_cnonce = "0a4f113b";
  ar.ar_qop = "auth";
  ar.ar_nc = "00000001";
  ar.ar_md5 = 1;
  ar.ar_auth = 1;
  auth_hexmd5_t ha1, response;
  auth_digest_ha1(ha1, "3001", "test.local", "pw3001");
  ASSERT_EQ(auth_digest_response(&ar, response, ha1, "REGISTER", "", 0), 0);
  phone.send(request("REGISTER", 3,
                     "Authorization: Digest username=\"3001\", realm=\"test.local\", nonce=\"" +
                         nonce + "\", uri=\"" + uri + "\", response=\"" + response +
                         "\", algorithm=MD5, cnonce=\"0a4f113b\", opaque=\"" + opaque +
                         "\", qop=auth, nc=00000001\r\n"));
  const std::string ok = phone.next(seconds(5));
  ASSERT_EQ(ok.rfind("SIP/2.0 200", 0), 0u) << ok;
  v1::ListBindingsRequest lb;
  lb.set_agent_id("3001");
  v1::ListBindingsResponse bindings;
  ASSERT_TRUE(agents_->ListBindings(Ctx().get(), lb, &bindings).ok());
  ASSERT_EQ(bindings.bindings_size(), 1);
  EXPECT_EQ(bindings.bindings(0).transport(), v1::SIP_TRANSPORT_TLS);
  EXPECT_EQ(bindings.bindings(0).source_port(), phone.local_port());

  // A customer calls over UDP; the INVITE reaches the phone on its TLS connection.
  auto customer = Sipp("customer.xml", testing::FreeUdpPort(),
                       {"-s", "secure", "-d", "500", "-m", "1", "-timeout", "30s"});
  const std::string invite = phone.next(seconds(10));
  ASSERT_EQ(invite.rfind("INVITE ", 0), 0u) << invite;
  EXPECT_NE(TlsPhone::Header(invite, "Via").find("SIP/2.0/TLS"), std::string::npos) << invite;
  const std::string sdp =
      "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
      "m=audio 49170 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
  phone.send(TlsPhone::Response(invite, "200 OK", contact, sdp));
  const std::string ack = phone.next(seconds(5));
  EXPECT_EQ(ack.rfind("ACK ", 0), 0u) << ack;
  // The customer hangs up: the BYE comes over TLS too.
  const std::string bye = phone.next(seconds(10));
  ASSERT_EQ(bye.rfind("BYE ", 0), 0u) << bye;
  phone.send(TlsPhone::Response(bye, "200 OK", contact));
  EXPECT_EQ(customer->wait(seconds(30)), 0);
  ExpectClean({"3001"});
}

}  // namespace
}  // namespace cc
