// cc-grpc-health: the container health check of every service image.
//
//   cc-grpc-health HOST:PORT [SERVICE] [--timeout-ms=N]
//
// Calls grpc.health.v1.Health/Check on HOST:PORT (plaintext) and exits 0 when the answer is
// SERVING, 1 otherwise (NOT_SERVING while a service drains, unreachable, timeout), 2 on usage
// errors. SERVICE defaults to "" (the whole server), which is what the services set.
//
// Debian 12 packages no grpc_health_probe, and the runtime images carry no protobuf code for
// the health API: the request and the answer are encoded by hand (both are one small message),
// and the call goes through grpc::GenericStub. Built into the images by the Dockerfiles, and
// built and run against the real services by tests/deploy (prometheus_stack_it).
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <vector>

namespace {

// HealthCheckRequest { string service = 1; }
std::string EncodeRequest(const std::string& service) {
  std::string out;
  if (service.empty()) return out;
  out.push_back(static_cast<char>(0x0a));  // field 1, length-delimited
  std::size_t n = service.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  return out + service;
}

// HealthCheckResponse { ServingStatus status = 1; } -> status, or -1 when malformed.
// UNKNOWN = 0 is the default and is then absent from the wire.
int DecodeStatus(const std::string& bytes) {
  int status = 0;
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto key = static_cast<unsigned char>(bytes[i++]);
    const unsigned wire = key & 0x7u;
    if (wire == 0) {  // varint
      unsigned long long v = 0;
      int shift = 0;
      while (true) {
        if (i >= bytes.size() || shift > 63) return -1;
        const auto b = static_cast<unsigned char>(bytes[i++]);
        v |= static_cast<unsigned long long>(b & 0x7f) << shift;
        if ((b & 0x80) == 0) break;
        shift += 7;
      }
      if ((key >> 3) == 1) status = static_cast<int>(v);
    } else if (wire == 2) {  // skip an unknown length-delimited field
      unsigned long long len = 0;
      int shift = 0;
      while (true) {
        if (i >= bytes.size() || shift > 63) return -1;
        const auto b = static_cast<unsigned char>(bytes[i++]);
        len |= static_cast<unsigned long long>(b & 0x7f) << shift;
        if ((b & 0x80) == 0) break;
        shift += 7;
      }
      if (len > bytes.size() - i) return -1;
      i += static_cast<std::size_t>(len);
    } else {
      return -1;
    }
  }
  return status;
}

const char* StatusName(int s) {
  switch (s) {
    case 0: return "UNKNOWN";
    case 1: return "SERVING";
    case 2: return "NOT_SERVING";
    case 3: return "SERVICE_UNKNOWN";
    default: return "MALFORMED";
  }
}

int Usage() {
  std::fprintf(stderr, "usage: cc-grpc-health HOST:PORT [SERVICE] [--timeout-ms=N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  long timeout_ms = 2000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--timeout-ms=", 0) == 0) {
      char* end = nullptr;
      timeout_ms = std::strtol(a.c_str() + 13, &end, 10);
      if (end == nullptr || *end != '\0' || timeout_ms <= 0) return Usage();
    } else if (a == "-h" || a == "--help") {
      Usage();
      return 0;
    } else if (a.rfind("--", 0) == 0) {
      return Usage();
    } else {
      positional.push_back(a);
    }
  }
  if (positional.empty() || positional.size() > 2) return Usage();
  const std::string target = positional[0];
  const std::string service = positional.size() == 2 ? positional[1] : "";

  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));

  const std::string req_bytes = EncodeRequest(service);
  grpc::Slice slice(req_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status st) { done.set_value(std::move(st)); });
  const grpc::Status st = done.get_future().get();
  if (!st.ok()) {
    std::fprintf(stderr, "cc-grpc-health: %s: %s (code %d)\n", target.c_str(),
                 st.error_message().c_str(), static_cast<int>(st.error_code()));
    return 1;
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  const int status = DecodeStatus(bytes);
  std::printf("%s\n", StatusName(status));
  return status == 1 ? 0 : 1;
}
