// Every bound Agora puts on what a request may carry, in one place (issue #7, items 5 and 6).
//
// Why bound at all: a field that is stored is rendered again in /master/state, /master/roles,
// metric keys and log lines, often once per framework, role or task; a field that is echoed
// in an error comes straight back. A 5 MB framework name made /metrics/snapshot 26 MB. Each
// bound below is far above what real clients send (Marathon, Spark and Aurora send names of
// tens of characters and labels and environments of a few KB), so only mistakes and attacks
// meet it. A request over a bound gets 400 naming the field and the bound. Raise a bound
// here, with its reason, if a real client needs more.
//
// Units: "bytes" are UTF-8 bytes, for values that end up as file or directory names, where
// the kernel counts bytes; "characters" are UTF-16 code units (a JS string's length), for
// free text.

/** The default of `--max_request_body`: no call is anywhere near it, and a 413 says so (#8). */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Nesting of arrays and objects in a JSON body, checked on the raw bytes before parsing.
 * The deepest real call (a LAUNCH of a task whose resources carry refined reservations with
 * labels) is about 15 levels; protobuf, which Mesos decodes with, refuses messages nested
 * deeper than 100 (its default recursion limit), and JSON spends a level on every repeated
 * field that protobuf does not, so 64 refuses nothing Mesos would take. It also keeps every
 * recursive walk of a body (validation, error paths) far from the stack's limit.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Nesting of messages in a protobuf body (and in what Agora encodes): the same bound as
 * JSON's. A message nests one level per message where its JSON nests one more per repeated
 * field, so the object a body decodes to is at most twice as deep, still far from the
 * stack's limit; Mesos' own parser stops at 100. Without a bound, `ContainerID.parent`,
 * which nests itself, would let an 8 MiB body recurse millions of levels deep.
 */
export const MAX_PROTOBUF_DEPTH = MAX_JSON_DEPTH;

/**
 * Ids (framework, agent, offer, task, executor, container, operation, persistent volume).
 * Mesos' `validateID` (src/common/validation.cpp) refuses ids longer than NAME_MAX, 255 bytes
 * on Linux, because task and executor ids become directory names in the sandbox path.
 */
export const MAX_ID_BYTES = 255;

/**
 * One '/'-separated component of a role. docs/roles.md in apache/mesos says "A role name
 * must be a valid directory name"; on Linux a directory name is at most NAME_MAX (255) bytes.
 * Mesos' own `roles::validate` (src/common/roles.cpp) checks no length at all.
 */
export const MAX_ROLE_COMPONENT_BYTES = 255;

/**
 * A whole role. Mesos has no bound; real hierarchies are a few short components
 * (`eng/web/prod`). A role is a key of the allocator's books, of /master/roles and of metric
 * keys (`allocator/mesos/roles/<role>/…`), so its size is multiplied by every place it appears.
 */
export const MAX_ROLE_BYTES = 1024;

/** Roles in one list: FrameworkInfo.roles, suppressed_roles, REVIVE/SUPPRESS roles. */
export const MAX_ROLES = 1024;

/**
 * Names: a framework's, a task's, an executor's. The framework name is part of the master's
 * per-framework metric keys (`master/frameworks/<name>/<id>/…`, URL-encoded, so up to 3x),
 * which this bound keeps bounded too. Marathon's task names are app ids, at most a few
 * hundred characters.
 */
export const MAX_NAME_LENGTH = 1024;

/** A Unix user name; LOGIN_NAME_MAX is 256 on Linux. */
export const MAX_USER_LENGTH = 256;

/** A principal: a name, or a certificate subject; never near a kilobyte. */
export const MAX_PRINCIPAL_LENGTH = 1024;

/** A host name: at most 253 characters in DNS (RFC 1035), so 255 takes any real one. */
export const MAX_HOSTNAME_LENGTH = 255;

/** URLs (webui_url, a fetched URI): 8 KiB, the request-line limit of common HTTP servers. */
export const MAX_URL_LENGTH = 8192;

/** Paths (a volume's container path, a URI's output file): PATH_MAX on Linux. */
export const MAX_PATH_LENGTH = 4096;

/**
 * A command's value, one argument, one environment variable's value: MAX_ARG_STRLEN, the
 * largest single string the Linux kernel passes to execve (32 pages, 128 KiB); a longer one
 * could never run anyway.
 */
export const MAX_COMMAND_STRING_LENGTH = 128 * 1024;

/**
 * Arguments, and environment variables, of one command. The kernel's ARG_MAX (2 MiB by
 * default) is the real bound on their total; Spark and Marathon send a few dozen.
 */
export const MAX_COMMAND_ENTRIES = 10_000;

/** Short identifying text: an environment variable's or attribute's name, a label key, a set item, a version. */
export const MAX_KEY_LENGTH = 1024;

/** Labels on one message. Marathon copies an app's labels (tens) onto its tasks. */
export const MAX_LABELS = 1024;

/**
 * One label's value. DC/OS packages put base64 package metadata of a few KB in labels;
 * 128 KiB, the same as a command string, leaves room for much more.
 */
export const MAX_LABEL_VALUE_LENGTH = 128 * 1024;

/** URIs a task's command fetches. */
export const MAX_URIS = 1024;

/**
 * HTTP status codes in one health check's `statuses`: there are 500 codes (100-599), so a
 * longer list repeats itself.
 */
export const MAX_CHECK_STATUSES = 500;

/** The largest TCP port. */
export const MAX_PORT = 65_535;

/**
 * A health check's consecutive_failures, a uint32 in the proto: anything larger could never
 * be reached.
 */
export const MAX_CONSECUTIVE_FAILURES = 2 ** 32 - 1;

/** A status message: a reason in words, perhaps with the tail of a log; 64 KiB. */
export const MAX_MESSAGE_LENGTH = 64 * 1024;

/** Enum names sent as free strings (TaskStatus.reason, a disk source's type). */
export const MAX_ENUM_NAME_LENGTH = 128;

/**
 * Opaque `bytes` (TaskInfo.data, TaskStatus.data, MESSAGE data), base64: the default body
 * limit, so a field may use the whole of a default-sized request.
 */
export const MAX_DATA_LENGTH = DEFAULT_MAX_REQUEST_BODY_BYTES;

/**
 * A task's `container` (ContainerInfo), kept as given and shown in state: serialized, at
 * most 1 MiB. Docker parameters and volumes run to a few KB.
 */
export const MAX_CONTAINER_JSON_LENGTH = 1024 * 1024;

/** Resources in one list (a task's, an agent's, a reservation's). Real lists have a handful to a few hundred. */
export const MAX_RESOURCES = 1024;

/**
 * Status updates in one agent UPDATES call: an agent batches what its tasks report in one
 * loop round, one update per task at a time; a thousand is a busy agent's burst.
 */
export const MAX_AGENT_UPDATES = 1024;

/** Ranges in one resource: one per port is the most a port range can need. */
export const MAX_RANGES = 65_536;

/** Items in one set resource or attribute. */
export const MAX_SET_ITEMS = 4096;

/** A resource's name (`cpus`, `mem`, `nvidia.com/gpu`). */
export const MAX_RESOURCE_NAME_LENGTH = 255;

/**
 * Reservations stacked on one resource (refinements). Each one's role is a strict subrole of
 * the one before, so role depth bounds it; real stacks are one to three deep.
 */
export const MAX_RESERVATIONS = 128;

/** An agent's attributes. */
export const MAX_ATTRIBUTES = 1024;

/** Capabilities in FrameworkInfo: Mesos defines about a dozen. */
export const MAX_CAPABILITIES = 64;

/**
 * Offer ids in one ACCEPT or DECLINE: one per agent of a 10,000-agent cluster, the scale the
 * master is benchmarked at (#8).
 */
export const MAX_OFFER_IDS = 10_000;

/**
 * Operations in one ACCEPT, and tasks in one LAUNCH: an agent with 96 cores runs at most
 * 9,600 tasks of Mesos' smallest (0.01) cpu share.
 */
export const MAX_OPERATIONS = 10_000;

/**
 * Tasks in one explicit RECONCILE, and in one agent's re-registration: 100,000, the running
 * tasks of the master's benchmark (#8). The body limit bites first for large ones, as Mesos'
 * reconciliation guide's advice to reconcile in batches expects.
 */
export const MAX_TASKS = 100_000;

/**
 * Frameworks one agent's re-registration lists (the frameworks-once report): each has a task
 * or an executor there, so no more than the tasks it may report.
 */
export const MAX_REPORTED_FRAMEWORKS = MAX_TASKS;

/**
 * Distinct resources lists the compact report gives in `task_resources`: each is there for a
 * task to name it, so no more than the tasks it may report (and the parse holds it to the
 * tasks it does report).
 */
export const MAX_REPORTED_RESOURCE_LISTS = MAX_TASKS;

/** Weight infos in one UPDATE_WEIGHTS, quota configs in one UPDATE_QUOTA: one per role. */
export const MAX_ROLE_ENTRIES = MAX_ROLES;

/** Resource names in one quota's guarantees or limits: cpus, mem, disk, gpus and a few more. */
export const MAX_QUOTA_RESOURCE_NAMES = 64;

/**
 * An error message's length on the wire. Messages quote what was wrong; a 5 MB field
 * echoed in a 400 would be a second copy of the problem.
 */
export const MAX_ERROR_MESSAGE_LENGTH = 1024;

/** How much of a refused value a message quotes. */
export const MAX_QUOTED_LENGTH = 64;

/**
 * An offer constraint's regular expression. Mesos compiles these with RE2 under
 * --offer_constraints_re2_max_mem and _max_program_size; a few hundred characters cover
 * host-name and zone patterns, and keep each compiled matcher small.
 */
export const MAX_REGEX_LENGTH = 1024;

/** Groups per role in offer_constraints, and constraints per group. */
export const MAX_CONSTRAINT_GROUPS = 64;
export const MAX_CONSTRAINTS_PER_GROUP = 64;

/** Machines in one maintenance window or START/STOP_MAINTENANCE, and windows in a schedule. */
export const MAX_MACHINES = 10_000;
