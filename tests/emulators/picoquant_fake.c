/* A stand-in for a PicoQuant TCSPC programming library (HHLib, MHLib, PHLib, TH260Lib), built
   by the tests with the system compiler: -DPREFIX=HH (or MH, PH, TH260) names the functions as
   the vendor's library does. It implements the functions the tagstream adapters call, logs
   every call with its arguments, serves the records given to FAKE_Serve in pieces, and injects
   the errors set with FAKE_Fail. It is not the vendor's code and does not drive hardware. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef PREFIX
#define PREFIX HH
#endif
#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(PREFIX, name)
#define STR2(x) #x
#define STR(x) STR2(x)

#define FLAG_FIFOFULL 0x0002
#define ERR_OPEN_FAIL -1
#define ERR_NOT_INITIALIZED -9
#define ERR_USB_FAIL -14

static char log_text[1 << 16];
static size_t log_len;
static unsigned int *records;
static long n_records, served;
static int chunk = 4096;
static double pace;           /* records per second served at most (0: as fast as asked) */
static struct timespec began; /* of the measurement */
static int fail_kind, fail_after = -1;
static int initialized, running, flags, mode, warned;
static double base_res_ps = 1.0, sync_rate = 80e6;
static int binning, channels = 2;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(log_text + log_len, sizeof(log_text) - log_len, fmt, ap);
    va_end(ap);
    if (n > 0 && log_len + n + 1 < sizeof(log_text)) {
        log_len += n;
        log_text[log_len++] = '\n';
        log_text[log_len] = 0;
    }
}

/* --- the test's controls ---------------------------------------------------------------- */
void FAKE_Serve(const unsigned int *recs, long n, int per_read, double per_s) {
    pace = per_s;
    free(records);
    records = malloc(sizeof(unsigned int) * (n ? n : 1));
    memcpy(records, recs, sizeof(unsigned int) * n);
    n_records = n;
    served = 0;
    chunk = per_read;
}
/* kind 1: no device at OpenDevice; 2: the FIFO fills after `after` records; 3: a read fails
   after `after` records; 4: Initialize fails */
void FAKE_Fail(int kind, int after) { fail_kind = kind; fail_after = after; }
void FAKE_Setup(double base_ps, double rate, int inputs) {
    base_res_ps = base_ps; sync_rate = rate; channels = inputs;
}
const char *FAKE_Log(void) { return log_text; }
void FAKE_Reset(void) {
    log_len = 0; log_text[0] = 0; fail_kind = 0; fail_after = -1;
    initialized = running = flags = binning = warned = 0; served = 0;
}

/* --- the library's functions ------------------------------------------------------------ */
int FN(GetLibraryVersion)(char *vers) { strcpy(vers, "3.0"); return 0; }

int FN(GetErrorString)(char *text, int code) {
    switch (code) {
    case ERR_OPEN_FAIL: strcpy(text, "ERROR_DEVICE_OPEN_FAIL"); break;
    case ERR_NOT_INITIALIZED: strcpy(text, "ERROR_NOT_INITIALIZED"); break;
    case ERR_USB_FAIL: strcpy(text, "ERROR_USB_FAIL"); break;
    default: sprintf(text, "ERROR_%d", code);
    }
    return 0;
}

int FN(OpenDevice)(int dev, char *serial) {
    note(STR(PREFIX) "_OpenDevice(%d)", dev);
    if (fail_kind == 1 || dev != 0) return ERR_OPEN_FAIL;
    strcpy(serial, "1020304");
    return 0;
}
int FN(CloseDevice)(int dev) { note(STR(PREFIX) "_CloseDevice(%d)", dev); return 0; }

#if defined(HAS_REFSOURCE)
int FN(Initialize)(int dev, int m, int ref) {
    note(STR(PREFIX) "_Initialize(%d,%d,%d)", dev, m, ref);
#else
int FN(Initialize)(int dev, int m) {
    note(STR(PREFIX) "_Initialize(%d,%d)", dev, m);
#endif
    if (fail_kind == 4) return ERR_USB_FAIL;
    initialized = 1; mode = m;
    return 0;
}

int FN(GetHardwareInfo)(int dev, char *model, char *partno, char *version) {
    strcpy(model, "Fake " STR(PREFIX)); strcpy(partno, "930000"); strcpy(version, "2.0");
    return 0;
}
int FN(GetSerialNumber)(int dev, char *serial) { strcpy(serial, "1020304"); return 0; }
int FN(GetNumOfInputChannels)(int dev, int *n) { *n = channels; return 0; }
int FN(GetBaseResolution)(int dev, double *res, int *steps) {
    *res = base_res_ps; *steps = 26; return 0;
}
int FN(GetResolution)(int dev, double *res) {
    *res = base_res_ps * (double)(1 << binning); return 0;
}
int FN(Calibrate)(int dev) { note(STR(PREFIX) "_Calibrate(%d)", dev); return 0; }
int FN(SetSyncDiv)(int dev, int div) { note(STR(PREFIX) "_SetSyncDiv(%d,%d)", dev, div); return 0; }
int FN(SetSyncCFD)(int dev, int level, int zc) {
    note(STR(PREFIX) "_SetSyncCFD(%d,%d,%d)", dev, level, zc); return 0;
}
int FN(SetSyncEdgeTrg)(int dev, int level, int edge) {
    note(STR(PREFIX) "_SetSyncEdgeTrg(%d,%d,%d)", dev, level, edge); return 0;
}
int FN(SetSyncChannelOffset)(int dev, int ps) {
    note(STR(PREFIX) "_SetSyncChannelOffset(%d,%d)", dev, ps); return 0;
}
int FN(SetSyncOffset)(int dev, int ps) {
    note(STR(PREFIX) "_SetSyncOffset(%d,%d)", dev, ps); return 0;
}
int FN(SetInputCFD)(int dev, int ch, int level, int zc) {
    note(STR(PREFIX) "_SetInputCFD(%d,%d,%d,%d)", dev, ch, level, zc); return 0;
}
int FN(SetInputEdgeTrg)(int dev, int ch, int level, int edge) {
    note(STR(PREFIX) "_SetInputEdgeTrg(%d,%d,%d,%d)", dev, ch, level, edge); return 0;
}
int FN(SetInputChannelOffset)(int dev, int ch, int ps) {
    note(STR(PREFIX) "_SetInputChannelOffset(%d,%d,%d)", dev, ch, ps); return 0;
}
int FN(SetBinning)(int dev, int b) {
    note(STR(PREFIX) "_SetBinning(%d,%d)", dev, b); binning = b; return 0;
}
int FN(GetSyncRate)(int dev, int *rate) { *rate = (int)sync_rate; return 0; }
int FN(GetCountRate)(int dev, int ch, int *rate) { *rate = 1000 * (ch + 1); return 0; }
int FN(GetFlags)(int dev, int *f) { *f = flags; return 0; }
int FN(GetWarnings)(int dev, int *w) { *w = warned ? 0x40 : 0; return 0; }
int FN(GetWarningsText)(int dev, char *text, int w) {
    strcpy(text, w ? "WARNING_COUNTS_EXCEED_LIMIT" : ""); return 0;
}
int FN(StartMeas)(int dev, int tacq) {
    note(STR(PREFIX) "_StartMeas(%d,%d)", dev, tacq);
    if (!initialized) return ERR_NOT_INITIALIZED;
    running = 1; flags = 0;
    clock_gettime(CLOCK_MONOTONIC, &began);
    return 0;
}
int FN(StopMeas)(int dev) { note(STR(PREFIX) "_StopMeas(%d)", dev); running = 0; return 0; }
int FN(CTCStatus)(int dev, int *done) { *done = 0; return 0; }

int FN(ReadFiFo)(int dev, unsigned int *buffer, int count, int *nactual) {
    *nactual = 0;
    if (!running || flags & FLAG_FIFOFULL) return 0;
    long n = n_records - served;
    if (n > chunk) n = chunk;
    if (n > count) n = count;
    if (pace > 0) { /* no faster than the records would come from a real unit */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double s = (now.tv_sec - began.tv_sec) + 1e-9 * (now.tv_nsec - began.tv_nsec);
        long allowed = (long)(s * pace) - served;
        if (n > allowed) n = allowed > 0 ? allowed : 0;
    }
    if (fail_after >= 0 && served + n >= fail_after && fail_kind >= 2) {
        n = fail_after - served;
        if (n < 0) n = 0;
        if (fail_kind == 2) { flags |= FLAG_FIFOFULL; warned = 1; fail_kind = 0; }
        if (fail_kind == 3 && n == 0) return ERR_USB_FAIL;
    }
    memcpy(buffer, records + served, sizeof(unsigned int) * n);
    served += n;
    *nactual = (int)n;
    return 0;
}
