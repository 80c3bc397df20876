/*
 * cmd_launch.c - `pictor train CONFIG --nproc N`: N training processes on this host, each given the
 * environment torchrun gives its workers (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
 * GROUP_RANK, MASTER_ADDR, MASTER_PORT; rank 0 hosts the store, as without torchrun's agent),
 * so that the same binary and config run unchanged under torchrun on a cluster.
 *
 * MASTER_ADDR and MASTER_PORT are taken from the environment when set, else 127.0.0.1 and a free
 * port (asked of the kernel: bind port 0, read it back, close; another program could take it in
 * between, then the rendezvous fails with "address in use"). The children share this terminal:
 * rank 0 prints the progress, the others only their errors.
 *
 * Supervision: SIGINT and SIGTERM sent to the launcher are passed on to every child (the ranks
 * agree to stop at the same step; rank 0 writes last.ckpt). When a child fails (non-zero exit or
 * a signal) the launcher says which rank and how, and gives the others GRACE_S seconds to notice
 * the lost rank and exit with their own message, then SIGTERM, then SIGKILL after KILL_S more.
 * Every failure is reported (rank, pid, status or signal). Exit status: 0 when every rank
 * succeeded, else the first failure's (128 + signal for a signal).
 */
#include "cmd_launch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GRACE_S 30.0
#define KILL_S 10.0

static volatile sig_atomic_t g_forward = 0;

static void on_signal(int sig) { g_forward = sig; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A free TCP port on 127.0.0.1, or -1. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void signal_all(const pid_t *pids, const int *running, int n, int sig)
{
    for (int r = 0; r < n; r++)
        if (running[r])
            kill(pids[r], sig);
}

int launch_local(int nproc, int argc, char **argv)
{
    if (nproc < 1 || nproc > 1024) {
        fprintf(stderr, "pictor train: --nproc expects a number of processes in [1, 1024]\n");
        return 1;
    }
    const char *ws = getenv("WORLD_SIZE");
    if (ws && strcmp(ws, "1") != 0 && *ws) {
        fprintf(stderr, "pictor train: --nproc inside a launch that already set WORLD_SIZE=%s "
                        "(torchrun starts the processes itself: leave --nproc out)\n", ws);
        return 1;
    }
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        fprintf(stderr, "pictor train: cannot find this program (/proc/self/exe): %s\n",
                strerror(errno));
        return 2;
    }
    exe[len] = '\0';
    const char *addr = getenv("MASTER_ADDR");
    char port[16];
    if (getenv("MASTER_PORT") && *getenv("MASTER_PORT")) {
        snprintf(port, sizeof port, "%s", getenv("MASTER_PORT"));
    } else {
        int p = free_port();
        if (p < 0) {
            fprintf(stderr, "pictor train: cannot find a free port on 127.0.0.1: %s\n",
                    strerror(errno));
            return 2;
        }
        snprintf(port, sizeof port, "%d", p);
    }
    char **args = calloc((size_t)argc + 3, sizeof *args);
    pid_t *pids = calloc((size_t)nproc, sizeof *pids);
    int *running = calloc((size_t)nproc, sizeof *running);
    if (!args || !pids || !running) {
        free(args), free(pids), free(running);
        fprintf(stderr, "pictor train: out of memory\n");
        return 2;
    }
    args[0] = "pictor";
    args[1] = "train";
    for (int i = 0; i < argc; i++)
        args[2 + i] = argv[i];

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    fflush(stdout);
    fflush(stderr);

    int status = 0, n_running = 0;
    for (int r = 0; r < nproc; r++) {
        pid_t pid = fork();
        if (pid == 0) {
            char v[32];
            snprintf(v, sizeof v, "%d", r);
            setenv("RANK", v, 1);
            setenv("LOCAL_RANK", v, 1);
            snprintf(v, sizeof v, "%d", nproc);
            setenv("WORLD_SIZE", v, 1);
            setenv("LOCAL_WORLD_SIZE", v, 1);
            setenv("GROUP_RANK", "0", 1);
            setenv("MASTER_ADDR", addr && *addr ? addr : "127.0.0.1", 1);
            setenv("MASTER_PORT", port, 1);
            unsetenv("TORCHELASTIC_USE_AGENT_STORE");
            execv(exe, args);
            fprintf(stderr, "pictor train: cannot start rank %d (%s): %s\n", r, exe,
                    strerror(errno));
            _exit(2);
        }
        if (pid < 0) {
            fprintf(stderr, "pictor train: cannot start rank %d: %s\n", r, strerror(errno));
            signal_all(pids, running, nproc, SIGTERM);
            status = 2;
            break;
        }
        pids[r] = pid;
        running[r] = 1;
        n_running++;
    }

    double deadline = 0; /* after the first failure: when the others are stopped */
    int stage = 0;       /* 0 running, 1 waiting for the others, 2 SIGTERM sent, 3 SIGKILL */
    while (n_running > 0) {
        if (g_forward) {
            signal_all(pids, running, nproc, g_forward);
            g_forward = 0;
        }
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0) {
            if (stage > 0 && now_s() > deadline && stage < 3) {
                stage++;
                signal_all(pids, running, nproc, stage == 2 ? SIGTERM : SIGKILL);
                deadline = now_s() + KILL_S;
            }
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        int r = 0;
        while (r < nproc && pids[r] != pid)
            r++;
        if (r == nproc)
            continue;
        running[r] = 0;
        n_running--;
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (code != 0) {
            if (status == 0)
                status = code;
            if (WIFSIGNALED(st))
                fprintf(stderr, "pictor train: rank %d (pid %d) was killed by signal %d\n", r,
                        (int)pid, WTERMSIG(st));
            else
                fprintf(stderr, "pictor train: rank %d (pid %d) exited with status %d\n", r,
                        (int)pid, code);
            if (n_running > 0 && stage == 0) {
                stage = 1;
                deadline = now_s() + GRACE_S;
            }
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(args);
    free(pids);
    free(running);
    return status;
}
