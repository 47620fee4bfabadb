// replay: runs a fuzz target once on each file named (or each file in each folder named), without
// libFuzzer, so the corpus and every crash input found so far run in the normal tests under ASan +
// UBSan with the project's own compiler. Prints the closing "N passed, 0 failed" line; a failing input
// aborts (the sanitizer or FUZZ_CHECK says why).
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

static void paths_collect(const std::string& path, std::vector<std::string>* out) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return;
    if (!S_ISDIR(st.st_mode)) {
        out->push_back(path);
        return;
    }
    DIR* d = opendir(path.c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') paths_collect(path + "/" + e->d_name, out);
    }
    closedir(d);
}

int main(int argc, char** argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    std::vector<std::string> paths;
    for (int i = 1; i < argc; i++) paths_collect(argv[i], &paths);
    std::sort(paths.begin(), paths.end());
    int passed = 0;
    for (const std::string& path : paths) {
        std::vector<uint8_t> bytes;
        if (!file_read(path.c_str(), &bytes)) {
            fprintf(stderr, "replay: cannot read %s\n", path.c_str());
            printf("%d passed, 1 failed\n", passed);
            return 1;
        }
        fprintf(stderr, "replay: %s\n", path.c_str());
        LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
        passed++;
    }
    printf("%d passed, 0 failed\n", passed);
    return 0;
}
