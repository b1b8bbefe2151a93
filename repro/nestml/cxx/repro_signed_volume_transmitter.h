// repro_signed_volume_transmitter: a NEST volume transmitter whose events carry the signed
// sum of the weights of the spikes that reached it in one step.
//
// Written by repro for NEST 3.10 (compiled into the shipped NESTML module, see
// repro/nestml/augment.py). NEST's own volume_transmitter adds each spike's multiplicity and
// keeps a step only when that count is positive, so a connection's weight never reaches the
// synapses and negative dopamine ("punishment" in sPyNNaker's Neuromodulation) cannot be
// expressed. This node stores, for every step with input, the time of the step's end and
// sum(weight x multiplicity) of its spikes (any sign, zero sums dropped) in the
// `multiplicity_` field of NEST's spikecounter, and hands the list to the synapses that
// name it every `deliver_interval` min-delays, as NEST's volume transmitter does
// (ConnectionManager::trigger_update_weight with the node's id).
#ifndef REPRO_SIGNED_VOLUME_TRANSMITTER_H
#define REPRO_SIGNED_VOLUME_TRANSMITTER_H

#include <string>
#include <vector>

#include "dictionary.h"
#include "event.h"
#include "nest_types.h"
#include "node.h"
#include "ring_buffer.h"
#include "spikecounter.h"

namespace repro
{

class SignedVolumeTransmitter : public nest::Node
{
public:
  SignedVolumeTransmitter();
  SignedVolumeTransmitter( const SignedVolumeTransmitter& );

  bool has_proxies() const override { return false; }
  bool local_receiver() const override { return false; }
  std::string get_element_type() const override;

  using nest::Node::handle;
  using nest::Node::handles_test_event;

  void handle( nest::SpikeEvent& ) override;
  size_t handles_test_event( nest::SpikeEvent&, size_t ) override;

  void get_status( Dictionary& ) const override;
  void set_status( const Dictionary& ) override;

  void set_local_device_id( const size_t ldid ) override { local_device_id_ = ldid; }
  size_t get_local_device_id() const override { return local_device_id_; }

  //! the events since the last delivery (time in ms, signed amount), first a marker at the
  //! last delivery's time with amount 0
  const std::vector< nest::spikecounter >& deliver_spikes() const { return events_; }

private:
  void init_buffers_() override;
  void pre_run_hook() override;
  void update( const nest::Time&, const long, const long ) override;

  long deliver_interval_;          //!< delivery period in min-delays
  nest::RingBuffer amounts_;        //!< signed amount arriving in each step of the slice
  std::vector< nest::spikecounter > events_;
  size_t local_device_id_;
};

void register_signed_volume_transmitter( const std::string& name );

}  // namespace repro

#endif
