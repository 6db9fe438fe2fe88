"""The live loop: feed -> tick router -> triggers -> order queue -> executor -> broker."""
