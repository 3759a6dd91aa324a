# Job launchers of the recipe, in Kaldi's "$cmd [opts] [JOB=1:N] LOG COMMAND..." form.
# Recipes link here (egs2/<corpus>/<task>/cmd.sh); replace the link by a copy
# to give one recipe its own launchers.
#   CMD_BACKEND=local (default): processes on this machine, at most one per CPU
#   CMD_BACKEND=slurm: a Slurm job (array) per command, mapped by conf/slurm.conf
# The launcher is `python -m espnet2_ext.bin.launch` (see its --help); it
# starts without importing ESPnet.  path.sh puts the repository's .venv first.
: "${ESPNET2_EXT_ROOT:?source path.sh first}"
_launch="python -m espnet2_ext.bin.launch"
case "${CMD_BACKEND:-local}" in
    local)
        train_cmd="${_launch} --backend local"
        cuda_cmd="${_launch} --backend local"
        decode_cmd="${_launch} --backend local"
        ;;
    slurm)
        train_cmd="${_launch} --backend slurm --config conf/slurm.conf"
        cuda_cmd="${_launch} --backend slurm --config conf/slurm.conf"
        decode_cmd="${_launch} --backend slurm --config conf/slurm.conf"
        ;;
    *)
        echo "cmd.sh: unknown CMD_BACKEND '${CMD_BACKEND}' (expected local or slurm)" >&2
        return 1 2>/dev/null || exit 1
        ;;
esac
export train_cmd cuda_cmd decode_cmd
