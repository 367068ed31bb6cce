//! The node's config file (`luminex.toml`, `--config`): any bytes give a
//! resolved configuration or a typed error, through the same checks the
//! node applies when it merges the file with its flags.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_ledger::ChainSpec;
use luminex_node::config::{resolve_with, CommonArgs, ConfigFile, NodeArgs};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut file) = ConfigFile::parse(text, "luminex.toml") else {
        return;
    };
    // A chain named by path would be read from disk: the spec format has
    // its own target (`spec_toml`); here only presets are followed.
    if file
        .chain
        .as_deref()
        .is_some_and(|c| ChainSpec::preset(c).is_err())
    {
        file.chain = None;
    }
    // Flags set nothing but the data directory, so nothing reads $HOME.
    let args = NodeArgs {
        common: CommonArgs {
            data_dir: Some("/nonexistent/luminex-fuzz".into()),
            ..CommonArgs::default()
        },
        ..NodeArgs::default()
    };
    let _ = resolve_with(&args, file);
});
