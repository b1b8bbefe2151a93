// repro_signed_volume_transmitter: see the header.
#include "repro_signed_volume_transmitter.h"

#include "dict_util.h"
#include "exceptions.h"
#include "kernel_manager.h"
#include "model_manager_impl.h"
#include "nest_impl.h"
#include "nest_names.h"

namespace repro
{

SignedVolumeTransmitter::SignedVolumeTransmitter()
  : nest::Node()
  , deliver_interval_( 1 )
  , local_device_id_( 0 )
{
}

SignedVolumeTransmitter::SignedVolumeTransmitter( const SignedVolumeTransmitter& other )
  : nest::Node( other )
  , deliver_interval_( other.deliver_interval_ )
  , local_device_id_( other.local_device_id_ )
{
}

std::string
SignedVolumeTransmitter::get_element_type() const
{
  return nest::names::other;
}

size_t
SignedVolumeTransmitter::handles_test_event( nest::SpikeEvent&, size_t receptor_type )
{
  if ( receptor_type != 0 )
  {
    throw nest::UnknownReceptorType( receptor_type, get_name() );
  }
  return 0;
}

void
SignedVolumeTransmitter::get_status( Dictionary& d ) const
{
  d[ nest::names::deliver_interval ] = deliver_interval_;
}

void
SignedVolumeTransmitter::set_status( const Dictionary& d )
{
  long interval = deliver_interval_;
  nest::update_value_param( d, nest::names::deliver_interval, interval, this );
  if ( interval < 1 )
  {
    throw nest::BadProperty( "deliver_interval must be at least 1 (min-delay)." );
  }
  deliver_interval_ = interval;
}

void
SignedVolumeTransmitter::init_buffers_()
{
  amounts_.clear();
  events_.clear();
  events_.push_back( nest::spikecounter( 0.0, 0.0 ) );  // the marker synapses start from
}

void
SignedVolumeTransmitter::pre_run_hook()
{
  events_.reserve( nest::kernel().connection_manager.get_min_delay() * deliver_interval_ + 1 );
}

void
SignedVolumeTransmitter::handle( nest::SpikeEvent& e )
{
  amounts_.add_value( e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() ),
    e.get_weight() * static_cast< double >( e.get_multiplicity() ) );
}

void
SignedVolumeTransmitter::update( const nest::Time&, const long from, const long to )
{
  const long origin = nest::kernel().simulation_manager.get_slice_origin().get_steps();
  for ( long lag = from; lag < to; ++lag )
  {
    const double amount = amounts_.get_value( lag );
    if ( amount != 0.0 )
    {
      events_.push_back( nest::spikecounter( nest::Time( nest::Time::step( origin + lag + 1 ) ).get_ms(), amount ) );
    }
  }
  if ( ( origin + to ) % ( deliver_interval_ * nest::kernel().connection_manager.get_min_delay() ) == 0 )
  {
    const double t_trig_ms = nest::Time( nest::Time::step( origin + to ) ).get_ms();
    nest::kernel().connection_manager.trigger_update_weight( get_node_id(), events_, t_trig_ms );
    events_.clear();
    events_.push_back( nest::spikecounter( t_trig_ms, 0.0 ) );
  }
}

void
register_signed_volume_transmitter( const std::string& name )
{
  nest::register_node_model< SignedVolumeTransmitter >( name );
}

}  // namespace repro
