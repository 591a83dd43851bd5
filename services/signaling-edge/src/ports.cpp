#include "signaling_edge/ports.h"

namespace cc::edge {

const char* ToString(OfferFailure f) {
  switch (f) {
    case OfferFailure::kNoAnswer:
      return "no-answer";
    case OfferFailure::kBusy:
      return "busy";
    case OfferFailure::kRejected:
      return "rejected";
    case OfferFailure::kUnreachable:
      return "unreachable";
    case OfferFailure::kCallbackUnanswered:
      return "callback-unanswered";
  }
  return "unknown";
}

const char* ToString(Report::Kind k) {
  switch (k) {
    case Report::Kind::kConnected:
      return "connected";
    case Report::Kind::kFailed:
      return "failed";
    case Report::Kind::kEnded:
      return "ended";
    case Report::Kind::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace cc::edge
