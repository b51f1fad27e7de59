//! The exhaustive check of the room model, and the seeded faults that show
//! each safety property can fail.

use stateright::{Checker, Model};
use stelgano_model::model::property_broken_by;
use stelgano_model::{Fault, RoomModel};

#[test]
fn every_property_holds_in_every_reachable_state() {
    let started = std::time::Instant::now();
    let checker = RoomModel::standard().checker().spawn_bfs().join();
    println!(
        "room model: {} states ({} unique), depth {}, {:.1?}",
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth(),
        started.elapsed()
    );
    checker.assert_properties();
}

#[test]
fn each_seeded_fault_is_caught_by_its_property() {
    for fault in Fault::ALL {
        let model = RoomModel::with_fault(fault);
        let property = property_broken_by(fault);
        let checker = model
            .checker()
            .finish_when(stateright::HasDiscoveries::AnyFailures)
            .spawn_bfs()
            .join();
        let path = checker
            .discovery(property)
            .unwrap_or_else(|| panic!("{fault:?}: no counterexample for {property:?}"));
        println!(
            "{fault:?} breaks {property:?} in {} steps: {:?}",
            path.clone().into_actions().len(),
            path.into_actions()
        );
    }
}
