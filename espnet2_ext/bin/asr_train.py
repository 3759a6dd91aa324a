"""``python -m espnet2_ext.bin.asr_train``: ``espnet2.bin.asr_train`` with our names registered."""

from espnet2_ext.tasks.asr import ASRTask


def get_parser():
    return ASRTask.get_parser()


def main(cmd=None):
    ASRTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
