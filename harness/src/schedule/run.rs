//! Running a schedule: the parts it names, its faults and operations from its lists.

use crate::catalogue::entry::entries;
use crate::catalogue::search::planted;
use crate::run::plugins::Plugins;
use crate::run::runner::{self, Inputs, RunOptions, RunOutput};

use super::Schedule;

/// The parts `schedule` runs with: those of its configuration, its planted bug if any, the
/// core's own assertions off when they were. An error when the bug needs rafty's `mutations`
/// feature and it is not compiled in.
pub fn plugins_for(schedule: &Schedule) -> Result<Plugins, String> {
    let plugins = match &schedule.plant {
        Some(name) => {
            let entry = entries()
                .into_iter()
                .find(|entry| entry.name == name)
                .ok_or_else(|| format!("plant: no catalogue entry is named `{name}`"))?;
            let mut config = schedule.config.clone();
            planted(&entry, &mut config)?
        }
        None => Plugins::for_config(&schedule.config)?,
    };
    Ok(if schedule.core_assertions {
        plugins
    } else {
        plugins.without_core_assertions()
    })
}

/// Run `schedule` with `plugins` (see [`plugins_for`]): the same seed for the nodes and the
/// network, the faults and operations from its lists.
pub fn run_schedule(schedule: &Schedule, plugins: &Plugins, options: RunOptions) -> RunOutput {
    let inputs = Inputs::Listed {
        faults: &schedule.faults,
        client_ops: &schedule.clients,
        follow_leader: schedule.follow_leader,
    };
    runner::run_inputs(&schedule.config, schedule.seed, plugins, options, inputs)
}
