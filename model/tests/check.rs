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
    // Deepening one step at a time finds a shortest counterexample.
    for fault in Fault::ALL {
        let model = RoomModel::with_fault(fault);
        let property = property_broken_by(fault);
        let found = (1..=20).find_map(|depth| {
            model
                .clone()
                .checker()
                .target_max_depth(depth)
                .finish_when(stateright::HasDiscoveries::AnyFailures)
                .spawn_bfs()
                .join()
                .discovery(property)
        });
        let path = found.unwrap_or_else(|| panic!("{fault:?}: no counterexample for {property:?}"));
        let steps: Vec<String> = path
            .into_actions()
            .iter()
            .map(|a| model.format_action(a))
            .collect();
        println!(
            "{fault:?} breaks {property:?} in {} steps: {}",
            steps.len(),
            steps.join("; ")
        );
    }
}
