"""``python -m espnet2_ext.bin.enh_s2t_train``: ``espnet2.bin.enh_s2t_train`` with our names registered."""

from espnet2_ext.tasks.enh_s2t import EnhS2TTask


def get_parser():
    return EnhS2TTask.get_parser()


def main(cmd=None):
    EnhS2TTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
