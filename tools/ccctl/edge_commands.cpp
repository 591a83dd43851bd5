// ccctl edge ... / relay ...: the SignalingEdge and MediaRelay admin commands.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "callcenter/v1/media_relay.grpc.pb.h"
#include "callcenter/v1/signaling_edge.grpc.pb.h"
#include "cli.h"

namespace ccctl {
namespace {

namespace v1 = callcenter::v1;

std::unique_ptr<v1::SignalingEdge::Stub> Edge(const Globals& g) {
  return v1::SignalingEdge::NewStub(Channel(g, "CC_SIGNALING_EDGE_GRPC", "127.0.0.1:50054"));
}

std::unique_ptr<v1::MediaRelay::Stub> Relay(const Globals& g) {
  return v1::MediaRelay::NewStub(Channel(g, "CC_MEDIA_RELAY_GRPC", "127.0.0.1:50053"));
}

int LiveCalls(const Globals& g, std::vector<std::string> argv) {
  Args(argv, {}, {}).expect_positionals(0);
  v1::ListLiveCallsResponse resp;
  Check(Edge(g)->ListLiveCalls(Context(g).get(), {}, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  Table t({"CALL", "QUEUE", "CALLER", "STATE", "AGENT", "CUSTOMER LEG", "AGENT LEG", "SINCE"});
  for (const auto& c : resp.calls()) {
    t.row({c.call_id(), c.queue().empty() ? "-" : c.queue(), c.caller(), c.state(),
           c.agent_id().empty() ? "-" : c.agent_id(), c.customer().state(),
           c.has_agent() ? c.agent().state() : "-", Ago(c.started_at().seconds())});
  }
  t.print();
  return 0;
}

int Stats(const Globals& g, std::vector<std::string> argv) {
  Args(argv, {}, {}).expect_positionals(0);
  v1::EdgeStatsResponse resp;
  Check(Edge(g)->Stats(Context(g).get(), {}, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  std::cout << "live dialogs:   " << resp.live_dialogs() << "\n"
            << "live calls:     " << resp.live_calls() << "\n"
            << "calls total:    " << resp.calls_total() << "\n"
            << "REGISTERs seen: " << resp.registrations_total() << "\n"
            << "draining:       " << (resp.draining() ? "yes" : "no") << "\n"
            << "reports pending:"
            << " " << resp.pending_reports() << " (to queue-service, retried until acknowledged)\n";
  for (const auto& r : resp.relays()) {
    std::cout << "relay " << r.address() << ": " << (r.healthy() ? "healthy" : "LOST") << ", "
              << r.legs() << " legs, " << r.ports_free() << " port pairs free"
              << (r.draining() ? ", draining" : "") << "\n";
  }
  return 0;
}

int Drain(const Globals& g, std::vector<std::string> argv) {
  Args(argv, {}, {}).expect_positionals(0);
  v1::EdgeDrainResponse resp;
  Check(Edge(g)->Drain(Context(g).get(), {}, &resp));
  if (g.json) {
    PrintJson(resp);
  } else {
    std::cout << "draining: new calls get 503; " << resp.live_calls() << " calls still up\n";
  }
  return 0;
}

int Legs(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {"call"}, {});
  a.expect_positionals(0);
  v1::ListLegsRequest req;
  req.set_call_id(a.get("call").value_or(""));
  v1::ListLegsResponse resp;
  Check(Relay(g)->ListLegs(Context(g).get(), req, &resp));
  if (g.json) {
    PrintJson(resp);
    return 0;
  }
  Table t({"LEG", "CALL", "LABEL", "PORT", "REMOTE", "CODEC", "BRIDGED", "IN", "OUT", "LOST",
           "JITTER"});
  for (const auto& l : resp.legs()) {
    t.row({l.id(), l.call_id(), l.label(), std::to_string(l.local_rtp_port()),
           l.remote_address().empty()
               ? "-"
               : l.remote_address() + ":" + std::to_string(l.remote_rtp_port()),
           l.codec().empty() ? "-" : l.codec(), l.bridged_with().empty() ? "-" : l.bridged_with(),
           std::to_string(l.stats().packets_in()), std::to_string(l.stats().packets_out()),
           std::to_string(l.stats().packets_lost()),
           std::to_string(static_cast<int>(l.stats().jitter_ms())) + "ms"});
  }
  t.print();
  return 0;
}

// A recording's file from the relay that wrote it, by the path `calls show` lists.
int FetchRecording(const Globals& g, std::vector<std::string> argv) {
  Args a(argv, {"out"}, {});
  a.expect_positionals(1);
  const auto out_path = a.get("out");
  if (!out_path) throw UsageError("--out FILE is required");
  v1::FetchRecordingRequest req;
  req.set_path(a.positional(0, "path"));
  auto ctx = Context(g);
  auto reader = Relay(g)->FetchRecording(ctx.get(), req);
  std::ofstream out(*out_path, std::ios::binary | std::ios::trunc);
  if (!out) throw UsageError("cannot write " + *out_path);
  v1::RecordingChunk chunk;
  std::size_t bytes = 0;
  while (reader->Read(&chunk)) {
    out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    bytes += chunk.data().size();
  }
  const grpc::Status st = reader->Finish();
  if (!st.ok()) {
    out.close();
    std::remove(out_path->c_str());
    Check(st);
  }
  std::cout << "wrote " << bytes << " bytes to " << *out_path << "\n";
  return 0;
}

}  // namespace

void RegisterEdgeCommands() {
  auto& c = Commands();
  c["calls live"] = {"calls live                 (the edge's calls with both legs)", LiveCalls};
  c["edge stats"] = {"edge stats", Stats};
  c["edge drain"] = {"edge drain                 (refuse new calls with 503)", Drain};
  c["relay legs"] = {"relay legs [--call ID]", Legs};
  c["relay recording"] = {
      "relay recording PATH --out FILE  (a recording's file, by the path ccctl calls show "
      "lists, from the relay that wrote it: --server or CC_MEDIA_RELAY_GRPC)",
      FetchRecording};
}

}  // namespace ccctl
