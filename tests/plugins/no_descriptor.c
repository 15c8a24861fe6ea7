/* A shared object that is not a guestbookd plugin: no descriptor. */
__attribute__((visibility("default"))) int not_a_plugin(void);
int not_a_plugin(void)
{
	return 42;
}
