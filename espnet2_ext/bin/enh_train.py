"""``python -m espnet2_ext.bin.enh_train``: ``espnet2.bin.enh_train`` with our names registered."""

from espnet2_ext.tasks.enh import EnhancementTask


def get_parser():
    return EnhancementTask.get_parser()


def main(cmd=None):
    EnhancementTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
