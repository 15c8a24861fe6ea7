# not-ready-pods.awk: reads `kubectl get pods -A` (the table with its header)
# and prints "NAMESPACE NAME" of every pod that needs a look: not Running
# and not Completed, or Running with fewer ready containers than it has.
# Columns are found by their header names, not their positions.
# deploy/checks/60-workflows.sh runs it against kubectl's pod columns.
NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	split("NAMESPACE NAME READY STATUS", need, " ")
	for (i in need)
		if (!(need[i] in col)) {
			printf "not-ready-pods.awk: no %s column in the header: %s\n", need[i], $0 > "/dev/stderr"
			bad = 1
			exit 2
		}
	next
}
{
	status = $col["STATUS"]
	split($col["READY"], ready, "/")
	if (status == "Completed")
		next
	if (status != "Running" || ready[1] != ready[2])
		print $col["NAMESPACE"], $col["NAME"]
}
END {
	if (bad)
		exit 2
}
