//! `tests/chaos [--minutes M] [--seed S] [--vms N]`: the chaos run on the sandbox cluster (see
//! `vmmgr_tests::chaos`). Prints the report; exit 1 when an invariant broke, 2 on bad
//! arguments.

use vmmgr_tests::chaos::{self, Options};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match Options::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("chaos: {e}\nusage: tests/chaos [--minutes M] [--seed S] [--vms N]");
            std::process::exit(2);
        }
    };
    let report = chaos::run(&opts);
    println!("{}", report.render());
    std::process::exit(if report.ok() { 0 } else { 1 });
}
