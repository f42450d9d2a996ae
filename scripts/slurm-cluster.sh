#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for testing `snakemake --profile profiles/slurm`.
#
#   bash scripts/slurm-cluster.sh start    # install (root, Debian) when missing, start; idempotent
#   bash scripts/slurm-cluster.sh status   # daemons, sinfo, recent accounting; rc 1 when not up
#   bash scripts/slurm-cluster.sh stop     # cancel jobs, stop the daemons this script started
#   bash scripts/slurm-cluster.sh env      # prints `export SLURM_CONF=...` (eval it in a shell)
#
# Daemons, started without systemd, in this order: munged, mariadbd (127.0.0.1 only, own port),
# slurmdbd (job accounting: the snakemake executor polls `sacct` and hangs silently without it),
# slurmctld, slurmd -N localhost. Every config, state, log and pid file lives in one folder the
# script owns: $IONNP_SLURM_DIR (default /tmp/ionnp-slurm). Clients find the cluster through
# SLURM_CONF=$IONNP_SLURM_DIR/etc/slurm.conf; when /etc/slurm/slurm.conf does not exist, a
# symlink to it is made there too (removed again by `stop`), so plain `sinfo` works.
#
# `stop` signals only the PIDs this script recorded, and only while /proc/PID/comm still names
# the daemon. It never removes packages: purging munge would take Quantum ESPRESSO with it.
#
# Settings (environment): IONNP_SLURM_DIR, IONNP_SLURM_DB_PORT (13306), IONNP_SLURM_CLUSTER
# (ionnp), IONNP_SLURM_PARTITION (debug).
set -euo pipefail

dir=${IONNP_SLURM_DIR:-/tmp/ionnp-slurm}
db_port=${IONNP_SLURM_DB_PORT:-13306}
cluster=${IONNP_SLURM_CLUSTER:-ionnp}
partition=${IONNP_SLURM_PARTITION:-debug}
policy_rc=/usr/sbin/policy-rc.d made_policy=
packages=(slurmctld slurmd slurm-client munge slurmdbd mariadb-server)
export SLURM_CONF=$dir/etc/slurm.conf

log() { echo "slurm-cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

# wait_for SECONDS COMMAND...: retry COMMAND every 0.5 s until it succeeds or time runs out.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

# ---- processes: one pid file per daemon in $dir/pids ---------------------------------------
pid_of() { [[ -f $dir/pids/$1.pid ]] && cat "$dir/pids/$1.pid" || true; }

# alive NAME: the recorded PID of daemon NAME still runs NAME (PIDs get reused) and has not
# exited (a zombie keeps its name until PID 1, which may be slow to reap, collects it).
alive() {
    local pid; pid=$(pid_of "$1")
    [[ -n $pid && -r /proc/$pid/comm && $(cat "/proc/$pid/comm" 2>/dev/null) == "$1" ]] &&
        ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$pid/status" 2>/dev/null
}

# launch NAME COMMAND...: run COMMAND (in the foreground mode of the daemon) detached in its own
# session, output to $dir/log/NAME.out, and record its PID (setsid execs, so $! is the daemon).
launch() {
    local name=$1; shift
    setsid "$@" </dev/null >>"$dir/log/$name.out" 2>&1 9>&- &   # fd 9: the start lock
    echo $! >"$dir/pids/$name.pid"
}

# halt NAME: SIGTERM the recorded daemon, wait up to 20 s, then SIGKILL it.
halt() {
    local name=$1 pid
    pid=$(pid_of "$name")
    if alive "$name"; then
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 20))
        while alive "$name" && ((SECONDS < deadline)); do sleep 0.2; done
        if alive "$name"; then
            log "$name did not stop in 20 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
        fi
    fi
    rm -f "$dir/pids/$name.pid"
}

# ---- installation ------------------------------------------------------------------------------
missing_packages() {
    local p
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
    done
}

install_packages() {
    local missing
    mapfile -t missing < <(missing_packages)
    ((${#missing[@]})) || return 0
    [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null ||
        die "missing Debian packages ${missing[*]}: install them as root (apt-get install ${missing[*]})"
    log "installing ${missing[*]}"
    # Keep the packages' init scripts from starting daemons: this script starts its own.
    if [[ ! -e $policy_rc ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy_rc" && chmod +x "$policy_rc" && made_policy=1
        trap 'if [[ -n $made_policy ]]; then rm -f "$policy_rc"; fi' EXIT
    fi
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends)
    if ! "${apt[@]}" "${missing[@]}" >"$dir/log/apt.log" 2>&1; then
        log "install failed without a package index update; running apt-get update"
        apt-get update -qq >>"$dir/log/apt.log" 2>&1
        "${apt[@]}" "${missing[@]}" >>"$dir/log/apt.log" 2>&1 ||
            die "apt-get install ${missing[*]} failed; see $dir/log/apt.log"
    fi
    if [[ -n $made_policy ]]; then rm -f "$policy_rc"; made_policy=; fi
}

# ---- configuration -----------------------------------------------------------------------------
write_config() {
    local cpus mem_mb
    cpus=$(nproc)
    mem_mb=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
    cat >"$dir/etc/slurm.conf.new" <<EOF
# Written by scripts/slurm-cluster.sh: a single-node test cluster (overwritten on start).
ClusterName=$cluster
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
# Memory is enforced by polling each job's processes every second (no cgroups here): a job over
# its --mem is killed (OUT_OF_MEMORY), as on a production cluster.
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
MinJobAge=300
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
StateSaveLocation=$dir/state/ctld
SlurmdSpoolDir=$dir/state/d
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=localhost CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$partition Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$dir/etc/slurm.conf.new" "$dir/etc/slurm.conf"
    # slurmdbd reads slurmdbd.conf next to $SLURM_CONF; it must be 0600 and owned by SlurmUser.
    (
        umask 077
        cat >"$dir/etc/slurmdbd.conf" <<EOF
# Written by scripts/slurm-cluster.sh (overwritten on start).
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
LogFile=$dir/log/slurmdbd.log
PidFile=$dir/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$db_port
StorageUser=slurm
StoragePass=$(cat "$dir/etc/db.secret")
StorageLoc=slurm_acct_db
EOF
    )
    chmod 600 "$dir/etc/slurmdbd.conf"
    # Clients (sinfo, sbatch, sacct) look in /etc/slurm when SLURM_CONF is not set.
    if [[ ! -e /etc/slurm/slurm.conf && ! -L /etc/slurm/slurm.conf ]] && mkdir -p /etc/slurm 2>/dev/null; then
        ln -s "$dir/etc/slurm.conf" /etc/slurm/slurm.conf
        touch "$dir/etc/linked"
    fi
}

# ---- daemons -----------------------------------------------------------------------------------
munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
    if munge_works; then return 0; fi
    alive munged && halt munged   # ours but broken
    [[ -s /etc/munge/munge.key ]] || {
        log "creating /etc/munge/munge.key"
        mkdir -p /etc/munge
        (umask 077; dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none)
        chown munge:munge /etc/munge/munge.key
    }
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 "$dir/munge"
    log "starting munged"
    launch munged setpriv --reuid=munge --regid=munge --init-groups \
        munged --foreground --force --log-file="$dir/munge/munged.log" \
        --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed"
    wait_for 15 munge_works || die "munged did not come up; see $dir/munge/munged.log and $dir/log/munged.out"
}

db() { mariadb --no-defaults --protocol=socket --socket="$dir/mysql/mysqld.sock" -uroot "$@"; }
db_up() { mariadb-admin --no-defaults --socket="$dir/mysql/mysqld.sock" -uroot ping; }

start_mariadb() {
    if alive mariadbd && db_up >/dev/null 2>&1; then return 0; fi
    alive mariadbd && halt mariadbd
    install -d -o mysql -g mysql -m 0750 "$dir/mysql"
    install -d -o mysql -g mysql -m 0750 "$dir/mysql/run"
    if [[ ! -d $dir/mysql/data/mysql ]]; then
        log "creating the accounting database"
        install -d -o mysql -g mysql -m 0750 "$dir/mysql/data"
        mariadb-install-db --no-defaults --user=mysql --datadir="$dir/mysql/data" \
            --auth-root-authentication-method=socket --skip-test-db \
            >"$dir/log/mariadb-install.log" 2>&1 ||
            die "mariadb-install-db failed; see $dir/log/mariadb-install.log"
    fi
    log "starting mariadbd on 127.0.0.1:$db_port"
    launch mariadbd mariadbd --no-defaults --user=mysql --datadir="$dir/mysql/data" \
        --socket="$dir/mysql/mysqld.sock" --pid-file="$dir/mysql/run/mariadbd.pid" \
        --log-error="$dir/mysql/run/mariadbd.err" --bind-address=127.0.0.1 --port="$db_port" \
        --skip-name-resolve --innodb-buffer-pool-size=64M --innodb-lock-wait-timeout=900
    wait_for 60 db_up || die "mariadbd did not come up; see $dir/mysql/run/mariadbd.err"
    local pass; pass=$(cat "$dir/etc/db.secret")
    db <<EOF
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$pass';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$pass';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
EOF
}

start_slurmdbd() {
    if ! alive slurmdbd; then
        log "starting slurmdbd"
        launch slurmdbd slurmdbd -D
    fi
    wait_for 60 sacctmgr -n list cluster || die "slurmdbd did not come up; see $dir/log/slurmdbd.log"
    if [[ -z $(sacctmgr -n -P list cluster "$cluster" format=cluster 2>/dev/null) ]]; then
        log "registering cluster $cluster in the accounting database"
        sacctmgr -i add cluster "$cluster" >/dev/null
    fi
}

ctld_up() { scontrol ping 2>/dev/null | grep -q 'is UP'; }

start_slurmctld() {
    if ! alive slurmctld; then
        log "starting slurmctld"
        launch slurmctld slurmctld -D -i
    fi
    wait_for 60 ctld_up || die "slurmctld did not come up; see $dir/log/slurmctld.log"
}

node_state() { sinfo -h -N -n localhost -o %T 2>/dev/null | head -1; }
node_ready() { [[ $(node_state) =~ ^(idle|mixed|allocated|completing)$ ]]; }

start_slurmd() {
    if ! alive slurmd; then
        log "starting slurmd"
        launch slurmd slurmd -D -N localhost
    fi
    if ! wait_for 30 node_ready; then
        scontrol update nodename=localhost state=resume 2>/dev/null || true
        wait_for 30 node_ready ||
            die "node localhost is '$(node_state)', not idle; see $dir/log/slurmd.log"
    fi
}

# ---- commands ----------------------------------------------------------------------------------
all_alive() {
    local name
    for name in mariadbd slurmdbd slurmctld slurmd; do alive "$name" || return 1; done
    munge_works
}

start() {
    if all_alive && ctld_up && node_ready; then
        log "already running ($dir)"
        echo "export SLURM_CONF=$SLURM_CONF"
        return 0
    fi
    mkdir -p "$dir"/{etc,pids,log,run,state/ctld,state/d}
    # Serialize concurrent starts (e.g. two test sessions).
    exec 9>"$dir/start.lock"
    flock 9
    install_packages
    [[ -s $dir/etc/db.secret ]] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$dir/etc/db.secret")
    local started=$SECONDS
    write_config
    start_munge
    start_mariadb
    start_slurmdbd
    start_slurmctld
    start_slurmd
    log "up in $((SECONDS - started)) s: partition $partition, account root, $(nproc) CPUs ($dir)"
    echo "export SLURM_CONF=$SLURM_CONF"
}

stop() {
    if [[ ! -d $dir/pids ]] || [[ -z $(ls "$dir/pids") ]]; then
        log "not running ($dir)"
        return 0
    fi
    if alive slurmctld; then
        local jobs
        jobs=$(squeue -h -o %i 2>/dev/null || true)
        if [[ -n $jobs ]]; then
            log "cancelling jobs: $(echo $jobs)"
            # shellcheck disable=SC2086
            scancel $jobs 2>/dev/null || true
            wait_for 20 test -z "$(squeue -h -o %i 2>/dev/null)" || true
        fi
    fi
    local name
    for name in slurmd slurmctld slurmdbd mariadbd munged; do halt "$name"; done
    if [[ -f $dir/etc/linked && -L /etc/slurm/slurm.conf &&
          $(readlink /etc/slurm/slurm.conf) == "$dir/etc/slurm.conf" ]]; then
        rm -f /etc/slurm/slurm.conf "$dir/etc/linked"
    fi
    log "stopped (state kept in $dir; remove it for a fresh cluster)"
}

status() {
    local name rc=0
    for name in munged mariadbd slurmdbd slurmctld slurmd; do
        if alive "$name"; then
            printf '%-10s running (pid %s)\n' "$name" "$(pid_of "$name")"
        elif [[ $name == munged ]] && munge_works; then
            printf '%-10s running (not started by this script)\n' "$name"
        else
            printf '%-10s not running\n' "$name"; rc=1
        fi
    done
    echo "SLURM_CONF=$SLURM_CONF"
    if ((rc == 0)); then
        echo "--- sinfo"
        sinfo -N -o '%N %P %T %c %m' || rc=1
        echo "--- accounting (sacctmgr list cluster / sacct, last day)"
        sacctmgr -n -P list cluster format=cluster,controlhost || rc=1
        sacct -a -X -S now-1days -o JobID,JobName%36,Comment%40,State,Elapsed | tail -n 15 || rc=1
        node_ready || { echo "node localhost is '$(node_state)'"; rc=1; }
    fi
    return $rc
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) echo "export SLURM_CONF=$SLURM_CONF" ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
