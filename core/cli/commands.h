/* commands.h: the subcommands of `irpa`. Each takes the arguments after its
 * name (argv[0] is the subcommand) and returns the process exit status. */
#ifndef IRPA_COMMANDS_H
#define IRPA_COMMANDS_H

#define IRPA_EXIT_OK 0         /* success */
#define IRPA_EXIT_FAILURE 1    /* the system failed us: I/O error, disk full */
#define IRPA_EXIT_BAD_INPUT 2  /* bad usage, manifest, model file or archive */

int irpa_cmd_build(int argc, char **argv);     /* irpa build MANIFEST -o OUT */
int irpa_cmd_inspect(int argc, char **argv);   /* irpa inspect FILE.irpa | --manifest M */
int irpa_cmd_manifest(int argc, char **argv);  /* irpa manifest SOURCE... */
int irpa_cmd_check(int argc, char **argv);     /* irpa check MANIFEST... */

#endif
