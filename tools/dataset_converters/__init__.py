"""The data-set generators and their tools: the synthetic VOC set
(``make_synthetic_voc.py``) and the Parts-64 pretraining corpus
(``make_parts_corpus.py``)."""
