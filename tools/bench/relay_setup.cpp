// relay-setup: sets up (or tears down) N bridged call pairs on a running media-relay, for the
// shared RTP harness (../shared/bench: gen -> relay -> sink). Call i's customer leg is offered
// by 127.0.0.1:(A_BASE + 2i), its agent leg by 127.0.0.1:(B_BASE + 2i). Writes
//   OUTDIR/gen_ports   "A_port relay_port"   (gen -p @file: send from A to the relay)
//   OUTDIR/sink_ports  "B_port"              (sink -p @file)
//   OUTDIR/legs        the leg ids, for --release
// the same files rtpengine's ng_client.py writes, so the runs compare.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "callcenter/v1/media_relay.grpc.pb.h"
#include "common/config.h"
#include "common/grpc_server.h"
#include "common/runtime.h"

namespace v1 = callcenter::v1;

static std::string Sdp(int port, int session) {
  return "v=0\r\no=- " + std::to_string(session) +
         " 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " +
         std::to_string(port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n";
}

int main(int argc, char** argv) {
  cc::Config config("relay-setup");
  config.add_string("server", "127.0.0.1:50053", "media-relay gRPC address");
  config.add_int("streams", 100, "call pairs", 1, 20000);
  config.add_string("outdir", "/tmp/relay-bench", "where the port files go");
  config.add_int("a-base", 20000, "first generator (customer) port", 1024, 65000);
  config.add_int("b-base", 24000, "first sink (agent) port", 1024, 65000);
  config.add_bool("release", false, "release the legs listed in OUTDIR/legs instead");
  if (auto code = cc::ParseOrExit(config, argc, argv)) return *code;
  auto stub = v1::MediaRelay::NewStub(cc::MakeChannel(config.str("server")));
  auto ctx = [] { return cc::MakeContext(std::chrono::seconds(10)); };
  const std::string dir = config.str("outdir");
  if (config.boolean("release")) {
    std::ifstream in(dir + "/legs");
    std::string id;
    int n = 0;
    while (in >> id) {
      v1::ReleaseLegRequest r;
      r.set_leg_id(id);
      v1::ReleaseLegResponse resp;
      if (stub->ReleaseLeg(ctx().get(), r, &resp).ok()) ++n;
    }
    std::printf("released %d legs\n", n);
    return 0;
  }
  std::ofstream gen(dir + "/gen_ports"), sink(dir + "/sink_ports"), legs(dir + "/legs");
  if (!gen || !sink || !legs) {
    std::fprintf(stderr, "relay-setup: cannot write into %s\n", dir.c_str());
    return 1;
  }
  const int n = static_cast<int>(config.integer("streams"));
  for (int i = 0; i < n; ++i) {
    const int pa = static_cast<int>(config.integer("a-base")) + 2 * i;
    const int pb = static_cast<int>(config.integer("b-base")) + 2 * i;
    const std::string call = "bench-" + std::to_string(i);
    v1::CreateLegRequest a, b;
    a.set_call_id(call);
    a.set_label("customer");
    a.set_remote_sdp(Sdp(pa, i + 1));
    b.set_call_id(call);
    b.set_label("agent");
    b.set_remote_sdp(Sdp(pb, i + 1001));
    v1::CreateLegResponse ra, rb;
    auto sa = stub->CreateLeg(ctx().get(), a, &ra);
    auto sb = stub->CreateLeg(ctx().get(), b, &rb);
    if (!sa.ok() || !sb.ok()) {
      std::fprintf(stderr, "relay-setup: CreateLeg failed: %s\n",
                   (sa.ok() ? sb : sa).error_message().c_str());
      return 1;
    }
    v1::BridgeRequest br;
    br.set_leg_a(ra.leg().id());
    br.set_leg_b(rb.leg().id());
    v1::BridgeResponse brr;
    if (auto st = stub->Bridge(ctx().get(), br, &brr); !st.ok()) {
      std::fprintf(stderr, "relay-setup: Bridge failed: %s\n", st.error_message().c_str());
      return 1;
    }
    gen << pa << " " << ra.leg().local_rtp_port() << "\n";
    sink << pb << "\n";
    legs << ra.leg().id() << "\n" << rb.leg().id() << "\n";
  }
  std::printf("set up %d bridged pairs\n", n);
  return 0;
}
