/* placeholder until the archive reader lands */
typedef int irpa_inspect_placeholder;
