/* SPDX-License-Identifier: MIT */
/*
 * pv_ctl_cmd.h - pvio-ctl's block and network commands, as the command line sees them.
 * main() stays in pvio-ctl.c; everything here links into the unit tests too.
 */
#ifndef PV_CTL_CMD_H
#define PV_CTL_CMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses, as pvio-ctl has always used them. */
#define PV_CTL_EXIT_OK    0
#define PV_CTL_EXIT_FAIL  1 /* the request was understood and failed */
#define PV_CTL_EXIT_USAGE 2 /* bad arguments: nothing was attempted */

/* The default time the attach and detach wait for the backend, in seconds. */
#define PV_CTL_DEFAULT_TIMEOUT 10.0

/*
 * Runs block command cmd ("block-attach", "block-detach", "block-list", "block-stats") with
 * argv[0] = cmd and its arguments after it, against platform spec (NULL: $PVIO_PLATFORM).
 * verbose comes from a global -v.  Prints its own messages; returns the exit status, or -1
 * when cmd is not a block command.
 */
int pv_ctl_block_cmd(const char *spec, const char *cmd, int argc, char **argv, int verbose);

/* The block commands' lines of pvio-ctl's usage text. */
void pv_ctl_block_usage(FILE *f);

/* The same for the network commands (pv_ctl_net.c): network-attach, -detach, -list, -stats. */
int pv_ctl_net_cmd(const char *spec, const char *cmd, int argc, char **argv, int verbose);
void pv_ctl_net_usage(FILE *f);

/* ---- shared by the command files (pv_ctl_cmd.c) --------------------------------------- */

/*
 * The block and network commands run the same steps (xl's): the same options, the same
 * checks before anything is written, the same wait for the backend with a rollback, the
 * same close-wait-remove, the same stats request.  They live here once; the command
 * files keep what is their kind's own (the spec, the nodes, the listing, the wording).
 */

struct pv_platform;

/* One command of a command file: its name, its synopsis line, and what runs it. */
struct pv_ctl_cmd_def {
	const char *name;
	const char *synopsis;
	int (*run)(const char *spec, int argc, char **argv, int verbose);
};

/*
 * Runs the command of defs (ended by a NULL name) called cmd; -1 when there is none.
 * The others are as pv_ctl_block_cmd.
 */
int pv_ctl_cmd_run(const struct pv_ctl_cmd_def *defs, const char *spec, const char *cmd,
		   int argc, char **argv, int verbose);
/* Prints cmd's usage line (the last entry's for a name not in defs) and where to read more. */
void pv_ctl_cmd_usage(FILE *f, const struct pv_ctl_cmd_def *defs, const char *cmd);
/* Prints "pvio-ctl: <cmd>: " fmt with arg, then the usage; returns PV_CTL_EXIT_USAGE. */
int pv_ctl_usage_error(const struct pv_ctl_cmd_def *defs, const char *cmd, const char *fmt,
		       const char *arg);

/* Which options a command takes: the four shapes every device kind's commands have. */
enum pv_ctl_opts {
	PV_CTL_OPTS_ATTACH, /* --no-wait --backend-domid N --timeout S -v */
	PV_CTL_OPTS_DETACH, /* --force --timeout S */
	PV_CTL_OPTS_LIST,   /* --json */
	PV_CTL_OPTS_STATS,  /* --json --ctl PATH */
};

struct pv_ctl_args {
	int nowait, verbose, force, json;
	int be_opt;      /* --backend-domid, -1 if not given */
	int timeout_ms;  /* --timeout, PV_CTL_DEFAULT_TIMEOUT if not given */
	const char *ctl; /* --ctl, NULL if not given */
};

/*
 * Parses the options of a command of shape which (--help included) into a, then the
 * operands, which start with the domain: exactly nargs of them (nargs 0: at least one),
 * else a usage error saying expected; and the first a domain id, in *fe.  verbose is the
 * global -v.  Returns -1 to go on, with argv[optind] the domain, or the exit status (usage
 * or help printed).
 */
int pv_ctl_parse_args(const struct pv_ctl_cmd_def *defs, const char *cmd, enum pv_ctl_opts which,
		      int argc, char **argv, int verbose, int nargs, const char *expected,
		      struct pv_ctl_args *a, uint16_t *fe);

/* Prints "pvio-ctl: <cmd>: <message>" to stderr; returns PV_CTL_EXIT_FAIL. */
int pv_ctl_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A domain id argument: decimal, no sign, below 0x7FF0.  0 or -EINVAL. */
int pv_ctl_parse_domid(const char *s, uint16_t *out);
/* --timeout: seconds, fractions allowed, (0, 3600].  0 or -EINVAL. */
int pv_ctl_parse_timeout(const char *s, int *ms);
/* Opens the platform; on failure prints why and returns PV_CTL_EXIT_FAIL, else 0. */
int pv_ctl_open_platform(const char *cmd, const char *spec, struct pv_platform **p);
/* 0 if domain d exists and is not dying; else prints why and returns PV_CTL_EXIT_FAIL. */
int pv_ctl_check_domain(const char *cmd, struct pv_platform *p, uint16_t d, const char *role);
/*
 * For a listing: 1 if domain d does not exist (its devices, if any, are leftovers of a
 * domain destroyed without removing them), 0 if it does, -1 (printed why) on error.
 */
int pv_ctl_domain_gone(const char *cmd, struct pv_platform *p, uint16_t d);
/* Says domain d is gone and, with n leftovers, how to remove them (remove: a synopsis). */
void pv_ctl_leftover_note(const char *cmd, uint16_t d, unsigned int n, const char *remove);
/* The frontend domain and, when another, the backend domain: pv_ctl_check_domain for each. */
int pv_ctl_check_domains(const char *cmd, struct pv_platform *p, uint16_t fe, uint16_t be);
/*
 * The backend domain of an attach: the spec's backend= (spec_be, -1 if none) and
 * --backend-domid (be_opt) must agree; neither means libxl's default, the toolstack's own
 * domain 0.  0, or prints why and returns PV_CTL_EXIT_FAIL.
 */
int pv_ctl_pick_backend(const char *cmd, int spec_be, int be_opt, uint16_t *be);

/*
 * After an attach wrote the device's nodes: waits for its backend (kind's directory for
 * fe's devid under be) to take it up.  On failure prints why (on a timeout with hint(arg)'s
 * guess at the cause), removes the device again and returns PV_CTL_EXIT_FAIL; else 0.
 */
int pv_ctl_attach_wait(const char *cmd, struct pv_platform *p, const char *kind, uint16_t fe,
		       uint16_t be, uint32_t devid, int timeout_ms,
		       void (*hint)(void *arg, char *buf, size_t len), void *arg);

/* How a detach of one kind words its failures. */
struct pv_ctl_detach_words {
	const char *kind;   /* "vbd" */
	const char *closer; /* who is asked to close: "the backend" */
	const char *thing;  /* whose nodes are removed: "device" */
	/* prints the message for a backend that did not reach Closed within timeout_ms */
	void (*timed_out)(const char *cmd, struct pv_platform *p, uint16_t fe, uint32_t devid,
			  int timeout_ms, const char *why);
};

/*
 * Closes device devid of fe (be < 0: it has only a frontend directory), waits for Closed
 * unless force, and removes its nodes.  A backend that does not close leaves the device in
 * place: the guest may still have I/O in flight.  0, or prints why and returns
 * PV_CTL_EXIT_FAIL.
 */
int pv_ctl_detach(const char *cmd, struct pv_platform *p, const struct pv_ctl_detach_words *w,
		  uint16_t fe, int be, uint32_t devid, int force, int timeout_ms);

/*
 * Sends request to pvio-backd's control socket (ctl, or the platform spec's) and prints the
 * reply: as it came with json, else as "name  value" lines.  The daemon needs no xenstore
 * for this: no platform is opened.  A daemon that answers "unknown command" is said not to
 * serve `serves` (when not NULL) by its request `name`.  Returns the exit status.
 */
int pv_ctl_stats(const char *cmd, const char *spec, const char *ctl, int json,
		 const char *request, const char *serves, const char *name);

/* Prints s to f as a JSON string: quoted, with '"', '\\' and control characters escaped. */
void pv_ctl_json_puts(FILE *f, const char *s);

#endif
