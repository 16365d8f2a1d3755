//! A rich sample agent used by the framework's own tests (every meta-data feature).

use super::{Action, ActionSpec, Agent, AgentMeta, Context, OcfError, OcfRc, ParamSpec, Role};

pub(crate) const PARAMS: &[ParamSpec] = &[
    ParamSpec::string("config")
        .required()
        .unique_group("config")
        .shortdesc("Domain XML file")
        .longdesc("Absolute path to the libvirt domain XML file."),
    ParamSpec::boolean("force_stop")
        .default("false")
        .shortdesc("Always destroy")
        .longdesc("Stop with a forced power-off instead of a graceful shutdown."),
    ParamSpec::integer("migration_speed")
        .default("0")
        .reloadable()
        .shortdesc("Migration bandwidth (MiB/s)")
        .longdesc("Bandwidth limit for live migration; 0 means unlimited."),
    ParamSpec::select(
        "shutdown_mode",
        &["acpi", "agent", "initctl", "signal", "paravirt"],
    )
    .default("acpi")
    .reloadable()
    .shortdesc("Shutdown mode")
    .longdesc("How the guest is asked to shut down."),
    ParamSpec::string("migration_user")
        .unique_group("remote")
        .shortdesc("Migration user")
        .longdesc("User name in the remote libvirt URI."),
    ParamSpec::string("migrate_user")
        .replaced_with("migration_user", "Renamed to migration_user.")
        .shortdesc("Migration user (deprecated)")
        .longdesc("Old name of migration_user."),
    ParamSpec::string("hypervisor")
        .deprecated("Only qemu:///system is supported.")
        .shortdesc("Hypervisor URI")
        .longdesc("Ignored."),
    ParamSpec::string("note")
        .default("a < b & \"c\" 'd' > e")
        .shortdesc("Escaping <test> & \"quotes\"")
        .longdesc("Long text with <tags>, & ampersands,\n'single' and \"double\" quotes."),
];

pub(crate) fn sample_meta() -> AgentMeta {
    AgentMeta {
        name: "Sample",
        version: "0.1.0",
        shortdesc: "Sample agent",
        longdesc: "A sample agent exercising every meta-data feature.",
        params: PARAMS.to_vec(),
        actions: vec![
            ActionSpec::new("start", 90),
            ActionSpec::new("stop", 90),
            ActionSpec::new("monitor", 30).interval(10).depth(0),
            ActionSpec::new("monitor", 25)
                .interval(9)
                .depth(0)
                .role(Role::Promoted),
            ActionSpec::new("monitor", 35)
                .interval(11)
                .role(Role::Unpromoted)
                .start_delay(5),
            ActionSpec::new("promote", 90),
            ActionSpec::new("demote", 90),
            ActionSpec::new("notify", 90),
            ActionSpec::new("migrate_to", 120),
            ActionSpec::new("migrate_from", 60),
            ActionSpec::new("reload-agent", 10),
            ActionSpec::new("validate-all", 5),
            ActionSpec::new("meta-data", 5),
        ],
    }
}

/// How the test agent answers an action.
pub(crate) type Behaviour = fn(&Action, &Context) -> Result<OcfRc, OcfError>;

/// A test agent with the sample meta-data and a pluggable behaviour.
pub(crate) struct TestAgent {
    pub(crate) behaviour: Behaviour,
}

impl Agent for TestAgent {
    fn meta(&self) -> AgentMeta {
        sample_meta()
    }

    fn handle(&self, action: &Action, ctx: &Context) -> Result<OcfRc, OcfError> {
        (self.behaviour)(action, ctx)
    }
}
