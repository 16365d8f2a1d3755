//! A simulated `crm_attribute` (DRBD SIMULATOR; hermetic tests only, never installed in the
//! sandbox, where the real Pacemaker tool is used).

use std::fs;

use crate::model::base_dir;

fn fail(code: u8, msg: &str) -> u8 {
    eprintln!("{msg}");
    code
}

/// `crm_attribute` (simulated, hermetic tests only): records promotion scores under
/// `$DRBD_SIM_DIR/crm_attribute/` and answers like Pacemaker 2.1.5 with `--output-as=xml`.
pub fn crm_attribute(args: &[String]) -> u8 {
    let mut rsc = None;
    let mut op = "query";
    let mut value = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(r) = a.strip_prefix("--promotion=") {
            rsc = Some(r.to_owned());
        } else if a == "-p" || a == "--promotion" {
            rsc = it.next().cloned();
        } else if let Some(v) = a.strip_prefix("--update=") {
            op = "update";
            value = Some(v.to_owned());
        } else if a == "-v" || a == "--update" {
            op = "update";
            value = it.next().cloned();
        } else if a == "--delete" || a == "-D" {
            op = "delete";
        }
    }
    let Some(rsc) = rsc else {
        return fail(
            64,
            "crm_attribute (drbd-sim): only --promotion is simulated",
        );
    };
    let dir = base_dir().join("crm_attribute");
    let _ = fs::create_dir_all(&dir);
    let file = dir.join(&rsc);
    let request = format!("crm_attribute {}", args.join(" "));
    let log = |line: String| {
        use std::io::Write;
        if let Ok(mut f) = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(base_dir().join("crm_attribute.log"))
        {
            let _ = writeln!(f, "{line}");
        }
    };
    match op {
        "update" => {
            let v = value.unwrap_or_default();
            let _ = fs::write(&file, &v);
            log(format!("update {rsc} {v}"));
        }
        "delete" => {
            let _ = fs::remove_file(&file);
            log(format!("delete {rsc}"));
        }
        _ => {
            return match fs::read_to_string(&file) {
                Ok(v) => {
                    println!(
                        "<pacemaker-result api-version=\"2.25\" request=\"{request}\">\n  \
                         <attribute name=\"master-{rsc}\" value=\"{v}\" scope=\"status\"/>\n  \
                         <status code=\"0\" message=\"OK\"/>\n</pacemaker-result>"
                    );
                    0
                }
                Err(_) => {
                    println!(
                        "<pacemaker-result api-version=\"2.25\" request=\"{request}\">\n  \
                         <status code=\"105\" message=\"No such object\">\n    <errors>\n      \
                         <error>crm_attribute: Error performing operation: No such device or \
                         address</error>\n    </errors>\n  </status>\n</pacemaker-result>"
                    );
                    105
                }
            };
        }
    }
    println!(
        "<pacemaker-result api-version=\"2.25\" request=\"{request}\">\n  \
         <status code=\"0\" message=\"OK\"/>\n</pacemaker-result>"
    );
    0
}
