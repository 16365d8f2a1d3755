//! `ocf:vmmgr:drbd`: a DRBD 9 promotable-clone resource agent (drop-in for `ocf:linbit:drbd`).

mod actions;
mod agent;
mod params;
mod promotion;
mod state;
mod validate;

#[cfg(test)]
mod tests;

fn main() -> std::process::ExitCode {
    shared::ocf::main(agent::Drbd)
}
