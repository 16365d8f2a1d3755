//! `vm-mgr`: see the library documentation.

fn main() -> std::process::ExitCode {
    vm_mgr::main_with_args(std::env::args_os())
}
