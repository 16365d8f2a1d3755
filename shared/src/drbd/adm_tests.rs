use super::*;

#[test]
fn resource_names() {
    for ok in ["r0", "vm-disk_1", "a.b", "x:y", "a=b@c%d+e/f"] {
        assert!(check_resource_name(ok).is_ok(), "{ok}");
    }
    for bad in ["", "-r0", "r 0", "r;0", "r$0", "r\n0", "ré", "r'0"] {
        assert!(check_resource_name(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn versions() {
    // `drbdadm --version` of drbd-utils 9.22.0 on this machine (module not loaded).
    let text = "DRBDADM_BUILDTAG=GIT-hash:\\ 409097fe02187f83790b88ac3e0d94f3c167adab\\ reproducible\\ build\\,\\ 2023-01-09\\ 14:51:18\n\
                DRBDADM_API_VERSION=2\n\
                DRBD_KERNEL_VERSION_CODE=0x000000\n\
                DRBD_KERNEL_VERSION=0\n\
                DRBDADM_VERSION_CODE=0x091600\n\
                DRBDADM_VERSION=9.22.0\n";
    assert_eq!(
        parse_version(text).unwrap(),
        Versions {
            kernel: 0,
            utils: 0x091600
        }
    );
    let loaded = text.replace("0x000000", "0x090202");
    assert_eq!(parse_version(&loaded).unwrap().kernel, 0x090202);
    assert!(parse_version("DRBDADM_VERSION=9.22.0\n").is_err());
    assert!(parse_version("DRBD_KERNEL_VERSION_CODE=zz\n").is_err());
}

#[test]
fn version_codes() {
    assert_eq!(version_code("8.0.0"), Some(0x080000));
    assert_eq!(version_code("10.0.0"), Some(0x0a0000));
    assert_eq!(version_code("9.0.16"), Some(0x090010));
    assert_eq!(version_code(" 9.2.2 "), Some(0x090202));
    for bad in ["9.0", "9.0.1.2", "a.b.c", "9..1", "256.0.0", "-1.0.0", ""] {
        assert_eq!(version_code(bad), None, "{bad}");
    }
    assert_eq!(version_string(0x090202), "9.2.2");
}

/// `drbdadm -c drbd.conf dump-xml r0` of drbd-utils 9.22.0 on this machine (a two-host,
/// two-volume resource with `net { allow-two-primaries yes; protocol C; }`).
const DUMP_XML: &str = r#"<resource name="r0" conf-file-line="/tmp/drbdt/drbd.conf:2">
    <host name="vm">
        <volume vnr="0">
            <device minor="0">/dev/drbd0</device>
            <disk>/dev/vg/r0</disk>
            <meta-disk>internal</meta-disk>
        </volume>
        <address family="ipv4" port="7789">10.0.0.1</address>
    </host>
    <host name="sim2">
        <volume vnr="0">
            <device minor="0">/dev/drbd0</device>
            <disk>/dev/vg/r0</disk>
            <meta-disk>internal</meta-disk>
        </volume>
        <address family="ipv4" port="7789">10.0.0.2</address>
    </host>
    <connection>
        <host name="vm"><address family="ipv4" port="7789">10.0.0.1</address></host>
        <host name="sim2"><address family="ipv4" port="7789">10.0.0.2</address></host>
        <section name="net">
            <option name="_name" value="sim2"/>
        </section>
    </connection>
    <section name="net">
        <option name="allow-two-primaries" value="yes"/>
        <option name="protocol" value="C"/>
    </section>
</resource>
"#;

#[test]
fn dump_xml() {
    let c = parse_dump_xml(DUMP_XML, "r0").unwrap();
    assert_eq!(c.name, "r0");
    assert_eq!(c.hosts, ["vm", "sim2"]);
    assert!(c.allow_two_primaries);
    assert_eq!(c.volumes, 1);
    let single = DUMP_XML.replace("<option name=\"allow-two-primaries\" value=\"yes\"/>", "");
    assert!(!parse_dump_xml(&single, "r0").unwrap().allow_two_primaries);
    let no = DUMP_XML.replace(
        "value=\"yes\"/>\n        <option name=\"protocol\"",
        "value=\"no\"/>\n        <option name=\"protocol\"",
    );
    assert!(!parse_dump_xml(&no, "r0").unwrap().allow_two_primaries);
    assert!(parse_dump_xml(DUMP_XML, "r1").is_err());
    assert!(parse_dump_xml("<resource", "r0").is_err());
}
