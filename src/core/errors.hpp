// Failures more than one layer of core throws or catches, kept here so that catching one does not pull
// in the code that throws it (the message consumer waits out a peer's outage without knowing HTTP).
#pragma once

#include <stdexcept>

namespace flashtix::core {

// The peer could not be reached, broke the connection, or did not answer in time: an outage, worth
// waiting out, never a reason to give up on the work.
class PeerUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace flashtix::core
