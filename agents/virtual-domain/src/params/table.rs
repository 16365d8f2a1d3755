//! The parameter table ([`PARAMS`]): names, types, defaults and descriptions, from which the
//! meta-data is printed and the values are read ([`super::Settings::from_params`]).

use shared::ocf::ParamSpec;

/// Every parameter of the agent.
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::string("config")
        .required()
        .unique_group("config")
        .shortdesc("Virtual domain configuration file")
        .longdesc(
            "Absolute path to the libvirt configuration file (domain XML) for this virtual \
             domain. The domain name is read from its <name>. The agent remembers the name of \
             each resource in its state directory (/run/resource-agents/vmmgr-VirtualDomain), so \
             a probe or stop still finds a running domain when this file is unreadable.",
        ),
    ParamSpec::string("hypervisor")
        .shortdesc("Hypervisor URI")
        .longdesc(
            "Hypervisor URI to connect to. See the libvirt documentation for details on \
             supported URI formats. When unset, libvirt's default URI is used (what \
             'virsh uri' prints: LIBVIRT_DEFAULT_URI, uri_default in libvirt.conf, or \
             qemu:///system for root); unlike the heartbeat agent, meta-data never runs virsh.",
        ),
    ParamSpec::boolean("force_stop")
        .default("0")
        .reloadable()
        .shortdesc("Always force shutdown on stop")
        .longdesc(
            "Always forcefully shut down (\"destroy\") the domain on stop. The default \
             behavior is to resort to a forceful shutdown only after a graceful shutdown \
             attempt has failed. You should only set this to true if your virtual domain (or \
             your virtualization backend) does not support graceful shutdown.",
        ),
    ParamSpec::string("migration_transport")
        .reloadable()
        .shortdesc("Remote hypervisor transport")
        .longdesc(
            "Transport used to connect to the remote hypervisor while migrating (the 'tcp' of \
             qemu+tcp://node/system). If omitted, libvirt's default transport is used. It \
             replaces a transport already present in the hypervisor URI.",
        ),
    ParamSpec::string("migration_user")
        .reloadable()
        .shortdesc("Remote username for the remoteuri")
        .longdesc(
            "The username used in the remote libvirt URI (user@node). No user (that is, root) \
             if omitted. Must match ^[a-z][-a-z0-9]*$; other values are ignored with a warning, \
             as the heartbeat agent does. If remoteuri is set, migration_user is ignored.",
        ),
    ParamSpec::integer("migration_downtime")
        .default("0")
        .reloadable()
        .shortdesc("Live migration downtime")
        .longdesc(
            "Maximum downtime during live migration in milliseconds (0: libvirt's default). Set \
             with virDomainMigrateSetMaxDowntime before the migration starts.",
        ),
    ParamSpec::integer("migration_speed")
        .default("0")
        .reloadable()
        .shortdesc("Live migration speed")
        .longdesc(
            "Live migration speed limit in MiB/s (0: unlimited). Passed as the migration's \
             bandwidth parameter; a --bandwidth in migrate_options takes precedence.",
        ),
    ParamSpec::string("migration_network_suffix")
        .reloadable()
        .shortdesc("Migration network host name suffix")
        .longdesc(
            "Use a dedicated migration network. The migration URI is composed by adding this \
             parameter's value to the end of the node name. If the node name is an FQDN, the \
             suffix is inserted before the first period. Qemu/KVM (tcp:NODESUFFIX:PORT) and Xen \
             are supported. The composed host name must be resolvable and reachable through the \
             favoured network. The suffix is also added to the remote libvirt URI (unless \
             remoteuri is set).",
        ),
    ParamSpec::string("migrateuri")
        .reloadable()
        .shortdesc("Custom migrateuri for migration state transfer")
        .longdesc(
            "The hypervisor URI for the migration data stream, if the calculated one is \
             unsuitable. If set, migration_network_suffix, migrateport and --migrateuri in \
             migrate_options are ignored. \"%n\" is replaced by the target node name (the plain \
             Pacemaker node name; the heartbeat agent substituted user@node-suffix here when \
             remoteuri was unset, which is never a usable data URI).",
        ),
    ParamSpec::string("migrate_options")
        .reloadable()
        .shortdesc("live migrate options")
        .longdesc(
            "Extra 'virsh migrate' options, mapped to libvirt API flags and parameters (the agent \
             never runs virsh). Migration is always live (--live). Accepted flags: --p2p \
             (VIR_MIGRATE_PEER2PEER: the source libvirtd connects to the target), --tunnelled, \
             --persistent, --undefinesource, --suspend, --copy-storage-all, --copy-storage-inc, \
             --change-protection, --unsafe, --compressed, --abort-on-error, --auto-converge, \
             --rdma-pin-all, --postcopy, --tls, --parallel, and --verbose and --live (no effect). \
             Options with a value, as --opt=value or --opt value: --migrateuri (data URI; \"%n\" \
             is the target node), --listen-address, --bandwidth (MiB/s), \
             --parallel-connections, --comp-methods, --tls-destination. Anything else (for \
             example --offline, --direct, --dname, --xml, --timeout) is rejected by validation \
             with OCF_ERR_CONFIGURED, naming the option.",
        ),
    ParamSpec::string("monitor_scripts")
        .reloadable()
        .shortdesc("space-separated list of monitor scripts")
        .longdesc(
            "Space-separated list of programs run (without a shell, each bounded by the \
             operation timeout) after the domain is found running, to monitor services inside \
             the virtual domain; a non-zero exit makes the monitor fail with OCF_ERR_GENERIC. \
             Start and migrate_from complete only when all monitor scripts succeed, so set \
             their timeouts accordingly.",
        ),
    ParamSpec::boolean("autoset_utilization_cpu")
        .default("true")
        .reloadable()
        .shortdesc("Enable auto-setting the CPU utilization of the resource")
        .longdesc(
            "If true, the agent puts the domain's number of vCPUs into the 'cpu' utilization of \
             the resource. It is written to the CIB only when it changed since the agent last \
             wrote it on this node (cached in the state directory), not on every monitor.",
        ),
    ParamSpec::boolean("autoset_utilization_host_memory")
        .default("true")
        .reloadable()
        .shortdesc("Enable auto-setting the host_memory utilization of the resource")
        .longdesc(
            "If true, the agent puts the domain's maximum memory (MiB) into the 'host_memory' \
             utilization of the resource, written only when it changed.",
        ),
    ParamSpec::boolean("autoset_utilization_hv_memory")
        .default("true")
        .reloadable()
        .shortdesc("Enable auto-setting the hv_memory utilization of the resource")
        .longdesc(
            "If true, the agent puts the domain's maximum memory (MiB) into the 'hv_memory' \
             utilization of the resource, written only when it changed.",
        ),
    ParamSpec::boolean("unset_utilization_cpu")
        .default("false")
        .reloadable()
        .shortdesc("Enable auto-removing the CPU utilization of the resource")
        .longdesc(
            "If true (and autoset_utilization_cpu is false), the agent removes the 'cpu' \
             utilization of the resource.",
        ),
    ParamSpec::boolean("unset_utilization_host_memory")
        .default("false")
        .reloadable()
        .shortdesc("Enable auto-removing the host_memory utilization of the resource")
        .longdesc(
            "If true (and autoset_utilization_host_memory is false), the agent removes the \
             'host_memory' utilization of the resource.",
        ),
    ParamSpec::boolean("unset_utilization_hv_memory")
        .default("false")
        .reloadable()
        .shortdesc("Enable auto-removing the hv_memory utilization of the resource")
        .longdesc(
            "If true (and autoset_utilization_hv_memory is false), the agent removes the \
             'hv_memory' utilization of the resource.",
        ),
    ParamSpec::integer("migrateport")
        .reloadable()
        .shortdesc("Port for migrateuri")
        .longdesc(
            "Port used in the generated migration URI (with migration_network_suffix). If \
             unset, a port between 49152 and 49215 is picked at random.",
        ),
    ParamSpec::string("remoteuri")
        .reloadable()
        .shortdesc("Custom remoteuri to communicate with a remote hypervisor")
        .longdesc(
            "Use this URI to connect to the remote hypervisor when migrating. If set, \
             migration_user, migration_transport and migration_network_suffix do not apply to \
             it. \"%n\" is replaced by the target node name.",
        ),
    ParamSpec::boolean("save_config_on_stop")
        .default("false")
        .reloadable()
        .shortdesc("Save running VM's config back to its config file")
        .longdesc(
            "Changes to a running VM's config are normally lost on stop. If true, the agent \
             saves the inactive, secure domain XML back to the config file on stop and \
             migrate_to (and on monitor, where the file is only rewritten when the XML \
             changed).",
        ),
    ParamSpec::boolean("sync_config_on_stop")
        .default("false")
        .reloadable()
        .shortdesc("Save running VM's config back to its config file and sync it")
        .longdesc(
            "Implies save_config_on_stop; after saving, the agent runs 'csync2 -x CONFIG' to \
             synchronize the file to all nodes (csync2 must be set up).",
        ),
    ParamSpec::string("snapshot")
        .reloadable()
        .shortdesc("Restore state on start/stop")
        .longdesc(
            "Directory where the domain's RAM state is saved on stop (DOMAIN.state, via \
             'virsh save', the only call the virt crate lacks). If a state file is present on \
             start, the domain is restored from it and the file removed. Incompatible with \
             force_stop.",
        ),
    ParamSpec::string("backingfile")
        .shortdesc("Backing file for Copy-On-Write mode")
        .longdesc(
            "When the VM is used in Copy-On-Write mode, the backing file (full path). Start \
             creates CONFIG_WITHOUT_EXTENSION.qcow2 on it with qemu-img (if missing, or always \
             with stateless), defines the domain persistently and starts it.",
        ),
    ParamSpec::boolean("stateless")
        .default("false")
        .shortdesc("Recreate the qcow2 overlay at each start")
        .longdesc(
            "If true and backingfile is set, every start recreates the qcow2 overlay from the \
             backing file, so the VM is stateless. Requires backingfile.",
        ),
    ParamSpec::string("copyindirs")
        .shortdesc("Directories for virt-copy-in before booting a stateless VM")
        .longdesc(
            "Space-separated list of directories copied into the domain with virt-copy-in \
             before it boots. Used only when the overlay is (re)created.",
        ),
    ParamSpec::string("shutdown_mode")
        .reloadable()
        .shortdesc("Shutdown method(s) for a graceful stop")
        .longdesc(
            "Comma-separated shutdown modes for the graceful part of stop, as for 'virsh \
             shutdown --mode': acpi, agent, initctl, signal, paravirt (libvirt flags \
             VIR_DOMAIN_SHUTDOWN_*). By default the hypervisor chooses. The heartbeat agent \
             read this from a wrong variable and never applied it; this agent does.",
        ),
    ParamSpec::boolean("start_resources")
        .default("false")
        .reloadable()
        .shortdesc("Ensure the needed virtual storage pools and networks are started")
        .longdesc(
            "Start (or refresh) the storage pools and start the networks named in the domain \
             XML before starting it locally, or on the target before live migrating it.",
        ),
    ParamSpec::string("rbd_xml_source")
        .shortdesc("Fetch the domain XML from Ceph RBD image metadata")
        .longdesc(
            "POOL/IMAGE or POOL/NAMESPACE/IMAGE of a Ceph RBD image whose metadata key \
             rbd_xml_key holds the domain XML. Before start and migrate_from (and on a probe or \
             stop that cannot read config), the agent runs 'rbd image-meta get' and writes the \
             XML to the config path (atomically, only when it differs), so the XML exists on \
             every node. Needs the rbd command and a Ceph client configuration and key for \
             the user rbd_xml_user (see rbd_xml_cephconf).",
        ),
    ParamSpec::string("rbd_xml_key")
        .default("xml")
        .shortdesc("RBD image metadata key holding the domain XML")
        .longdesc("The image metadata key read when rbd_xml_source is set."),
    ParamSpec::string("rbd_xml_user")
        .reloadable()
        .shortdesc("Ceph user fetching the domain XML")
        .longdesc(
            "Ceph (cephx) user name, without the 'client.' prefix, with which rbd_xml_source is \
             read (rbd --id); it needs read access to the image (for example caps mon \
             'profile rbd' osd 'profile rbd pool=POOL'). Its key is found as Ceph finds it: \
             the keyring named in rbd_xml_cephconf, else /etc/ceph/ceph.client.USER.keyring. \
             When unset, Ceph's default user (client.admin).",
        ),
    ParamSpec::string("rbd_xml_cephconf")
        .reloadable()
        .shortdesc("Ceph configuration file for rbd_xml_source")
        .longdesc(
            "Absolute path of the Ceph configuration file used to read rbd_xml_source (rbd \
             -c). When unset, Ceph's default (/etc/ceph/ceph.conf). A missing file makes start \
             and migrate_from fail with OCF_ERR_INSTALLED on that node.",
        ),
];
