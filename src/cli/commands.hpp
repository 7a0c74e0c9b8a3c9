// tailor CLI: the subcommands. Each returns the process exit code; usage mistakes throw
// UsageError, data and I/O problems throw tailor::Error (main turns both into one line).
#pragma once

namespace tailor::cli {

int cmd_stats(int argc, char** argv);
int cmd_fit(int argc, char** argv);
int cmd_recommend(int argc, char** argv);
int cmd_similar(int argc, char** argv);
int cmd_split(int argc, char** argv);
int cmd_evaluate(int argc, char** argv);
int cmd_tune(int argc, char** argv);
int cmd_experiment(int argc, char** argv);
int cmd_bought_together(int argc, char** argv);
int cmd_trending(int argc, char** argv);
int cmd_inspect(int argc, char** argv);
int cmd_config(int argc, char** argv);
int cmd_serve(int argc, char** argv);

}  // namespace tailor::cli
